"""Build `pairs.jsonl`, the labelled set for story grouping, from the shared corpus.

Run from the project root: `.venv/bin/python tests/data/grouping/build.py` (reads
`../shared/corpus/`, writes `tests/data/grouping/pairs.jsonl`; the same output every time).
README.md beside this file says what each kind of pair is and where its text comes from.
"""

from __future__ import annotations

import gzip
import html
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import feedparser

HERE = Path(__file__).parent
CORPUS = HERE.parents[2].parent / "shared" / "corpus"
OUT = HERE / "pairs.jsonl"
HERE_PAGES = CORPUS / "articles" / "html"
OG_TITLE = r'<meta[^>]+property="og:title"[^>]+content="([^"]*)"'
WORDS = 100
"""Each side keeps its first 100 words: grouping reads the title and the opening only."""

# Another site's headline and its own first sentence for the same story (written by hand).
REHEADLINED: dict[str, tuple[str, str]] = {
    "042bb7b5": (
        "Cloud gaming and subscriptions: how many services does one player need?",
        "Stadia, xCloud and Apple Arcade all want a monthly fee from the same players.",
    ),
    "04a6711c": (
        "Trump's endorsements failed Republicans in this month's elections",
        "The president campaigned hard in four states this month, and his party has little "
        "to show for it.",
    ),
    "05844573": (
        "Electric cars and small crossovers take centre stage in Los Angeles",
        "Carmakers brought plug-ins and compact crossovers to the show floor in Los Angeles.",
    ),
    "06e5123e": (
        "WeWork faces New York attorney general probe, sources say",
        "New York's top law officer has opened an inquiry into the office-sharing company.",
    ),
    "06ee193d": (
        "Volkswagen shows an electric estate concept, the ID. Space Vizzion",
        "Volkswagen has added one more concept car to its growing family of ID models.",
    ),
    "076f4f33": (
        "Is a Delhi oxygen bar really selling clean air for Rs 300?",
        "A video claiming that a bar in the capital sells fresh air has gone viral; we checked.",
    ),
    "08f79376": (
        "Browns lineman says Rudolph started the Garrett fight",
        "A Cleveland defensive lineman has put part of the blame for the brawl on Pittsburgh's "
        "quarterback.",
    ),
    "098bb3e9": (
        "Disney admits launch trouble with its Disney+ streaming service",
        "Disney says demand and a coding error broke the first days of its streaming service.",
    ),
    "0d461229": (
        "Spain beats Russia at the Davis Cup Finals after Nadal win",
        "Rafael Nadal levelled the tie and the doubles pair finished the job for the hosts.",
    ),
    "0dd13570": (
        "Senate adjourns plenary to honour Nzeribe and Adedoyin",
        "The Senate cut short its first sitting after the break to mourn two former lawmakers.",
    ),
    "14cc2a0c": (
        "Water vapour found above Europa, NASA team confirms",
        "Scientists have detected water vapour over the icy surface of Jupiter's moon Europa.",
    ),
    "156770d6": (
        "Noem defends 'Meth. We're on it.' campaign after online mockery",
        "The governor of South Dakota says the ridicule shows the campaign is working.",
    ),
    "16c30add": (
        "Why Delhi's smog comes back every winter",
        "A farm law is part of the reason the capital chokes each November.",
    ),
    "1ace8c85": (
        "WeWork under investigation by New York AG, report says",
        "The office-sharing company confirmed it had received an inquiry from the state.",
    ),
    "1ee91d1f": (
        "Moscow and Damascus blame US for blocking Rukban refugee returns",
        "Russia and Syria say American forces stand in the way of a UN return plan.",
    ),
    "1f765c48": (
        "Prince Andrew's interview and the arrogance of royalty",
        "The prince thinks his television interview went well; few viewers agree.",
    ),
    "232a43fb": (
        "Apple to release a 13-inch MacBook Pro with a new keyboard in 2020, report says",
        "Apple's smaller laptop is next in line for the keyboard of the 16-inch model.",
    ),
    "264dc3ae": (
        "Parise scores twice in the Wild's 4-1 victory at Buffalo",
        "Minnesota's veteran winger found his scoring touch against the Sabres.",
    ),
    "287e4d9f": (
        "Early Black Friday deals: DualShock 4, AirPods and Apple Watch discounts",
        "Several Black Friday prices are already live at the big retailers.",
    ),
    "291a8bf3": (
        "Tim Cook tells Dreamforce that Apple was pulled into business computing",
        "Apple's chief executive spoke on stage with Marc Benioff in San Francisco.",
    ),
    "2c46804d": (
        "Video shows police rescuing a kidnapped Fort Worth girl from a hotel",
        "Police have released footage of the moment officers found the girl.",
    ),
    "2f42ef1d": (
        "Neo-banks are betting on customers who have no money",
        "A new wave of fintech start-ups assumes its customers are broke.",
    ),
    "33fe2471": (
        "Amsterdam Light Festival returns for its seventh edition",
        "Thirty light artworks will fill the centre of Amsterdam this winter.",
    ),
    "358cc4a0": (
        "Chelsea pay £71.6m release clause for Kepa Arrizabalaga",
        "Chelsea have broken the world record fee for a goalkeeper.",
    ),
    "359fee22": (
        "Scientists publish the first global geological map of Titan",
        "Saturn's largest moon now has a map of its plains, dunes and lakes.",
    ),
    "35b15891": (
        "Doobie Brothers announce reunion tour with Michael McDonald",
        "The band will mark its 50th anniversary on the road next summer.",
    ),
    "360c732d": (
        "Alibaba prices Hong Kong share sale to raise $12.9bn",
        "The Chinese e-commerce group has set the terms of its second listing.",
    ),
    "374ac9a5": (
        "Emirates orders 30 Boeing 787 Dreamliners at the Dubai Airshow",
        "Dubai's airline has signed for thirty Dreamliners after months of talks.",
    ),
    "39d5c43b": (
        "US-China phase one deal could grow if tariffs are rolled back",
        "The first stage of a trade deal may turn out larger than planned.",
    ),
    "3c5bf8db": (
        "Astronomers run the most detailed simulation of the universe yet",
        "A supercomputer has modelled how galaxies formed over billions of years.",
    ),
    "3cb22bfa": (
        "Audi unveils the e-tron Sportback at the LA Auto Show",
        "Audi's second electric production model is a coupe-shaped SUV.",
    ),
    "3cb5e2f4": (
        "Nissan shows the eighth-generation Sentra sedan",
        "Nissan is not giving up on the saloon car.",
    ),
    "3d8f3404": (
        "How Mary Steenburgen came to write the song from Wild Rose",
        "An actress who never wrote music now has a contender for best original song.",
    ),
    "42aad16b": (
        "SpaceX and Blue Origin cleared to bid for NASA moon deliveries",
        "NASA has added five companies to the list that may carry its cargo to the Moon.",
    ),
    "432362af": (
        "China reports a bubonic plague case in a man who ate wild rabbit",
        "Health officials in Inner Mongolia have isolated a patient with the plague.",
    ),
    "4a44ab3e": (
        "Three Morales supporters killed in clashes with Bolivian security forces",
        "Protests against Bolivia's interim government turned deadly on Tuesday.",
    ),
    "51374560": (
        "Home Depot shares fall after revenue misses estimates",
        "Home Depot cut its sales outlook for the year.",
    ),
    "51d066b0": (
        "Police video shows the rescue of a kidnapped Fort Worth girl",
        "Officers found the girl in a hotel room in the early hours.",
    ),
    "55bb6340": (
        "Taylor Swift's dispute with Scooter Braun draws in Carlyle",
        "The fight over Taylor Swift's old recordings now involves a private equity firm.",
    ),
    "57d46c9d": (
        "Oil falls on oversupply fears as stocks hover at record highs",
        "Crude prices slid while share indexes stayed close to their peaks.",
    ),
    "5a822960": (
        "Austria to turn Hitler's birthplace into a police station",
        "Austria has decided what to do with the house in Braunau am Inn.",
    ),
    "5caf91b8": (
        "Passenger stabbed to death on a BART train in the Bay Area",
        "A man was killed on a commuter train near Hayward on Sunday night.",
    ),
    "4648a420": (
        "Experience names Junior Gaspard president and CEO",
        "Experience has a new chief executive from inside the company.",
    ),
    "57e2e988": (
        "my6sense hires Ivan Braiker as chief strategy officer",
        "A mobile marketing veteran joins the native advertising platform.",
    ),
    "5ae11e58": (
        "Ascom and GE Healthcare sign a European intensive care deal",
        "Ascom will sell its ICU software alongside GE Healthcare's monitors.",
    ),
    "4219d096": (
        "A spiced honey pear jam for holiday gifts",
        "A jar of pear jam makes an easy present this season.",
    ),
    "0e014df6": (
        "What to pack for a family hike in Colorado",
        "Hiking with children takes a little more planning.",
    ),
}

# A different event on the same subject, under a near-identical headline (written by hand).
OTHER_EVENT: dict[str, tuple[str, str]] = {
    "360c732d": (
        "Alibaba shares jump 8% in landmark Hong Kong debut",
        "Alibaba's shares rose sharply on their first day of trading in Hong Kong on Tuesday, "
        "closing well above the offer price. The group's chairman rang the opening gong by "
        "video link from its headquarters in Hangzhou. Traders said demand from mainland "
        "investors drove the gains in the afternoon session.",
    ),
    "5caf91b8": (
        "The Latest: Woman injured in fall on San Francisco Bay train",
        "A woman was taken to hospital after falling between a platform and a commuter train "
        "in Oakland on Sunday evening, transit officials said. Service on the line was "
        "suspended for about an hour. Officials said her injuries were not life-threatening "
        "and that the gap at the platform would be inspected.",
    ),
    "51374560": (
        "Lowe's sales beat, shares jump",
        "Lowe's reported third-quarter sales ahead of analyst forecasts and raised its profit "
        "outlook for the year, sending its stock up more than 4% in early trading. The home "
        "improvement retailer said its turnaround plan was paying off in stores and online.",
    ),
    "14cc2a0c": (
        "NASA Just Confirmed There Are Ice Volcanoes On The Surface of Saturn's Moon Enceladus",
        "Images from the Cassini mission show cryovolcanoes spraying ice grains from cracks "
        "near the south pole of Enceladus, researchers said in a new paper. The team mapped "
        "more than a hundred separate jets and traced them to fractures known as tiger stripes.",
    ),
    "359fee22": (
        "The First Weather Forecast for Saturn's Moon Titan Predicts Methane Storms",
        "Planetary scientists have built a climate model of Titan that predicts heavy methane "
        "rain over its northern lakes during the coming summer. The model was checked against "
        "cloud observations from telescopes in Hawaii and Chile.",
    ),
    "374ac9a5": (
        "Emirates inks $16 billion order for 50 Airbus A350 jets at Dubai Air Show",
        "Emirates agreed to buy 50 Airbus A350-900 aircraft on Wednesday, moving part of an "
        "earlier order away from the A380 superjumbo. The carrier's chairman said the jets "
        "would join the fleet from 2023 and fly routes of up to 15 hours.",
    ),
    "232a43fb": (
        "16-Inch MacBook Pro With Scissor Keyboard Now Available in Stores",
        "Apple's new 16-inch MacBook Pro went on sale in its retail stores on Friday, a week "
        "after it was announced online. Early buyers praised the physical Escape key and the "
        "larger battery, while some reported crackling speakers on the first units.",
    ),
    "098bb3e9": (
        "'We had some issues,' Netflix exec says on price rise complaints",
        "A Netflix executive told an investor conference that the company had underestimated "
        "how many subscribers would cancel after its latest price increase. He said the "
        "service still added members in Asia and Latin America during the quarter.",
    ),
    "0d461229": (
        "Djokovic keeps Serbia alive against France in Davis Cup Finals",
        "Novak Djokovic beat Gael Monfils in straight sets to level Serbia's tie with France, "
        "before the Serbian doubles pair won a tight deciding match in Madrid. The result "
        "sends Serbia into the quarter-finals as group winners.",
    ),
    "264dc3ae": (
        "Jack Eichel heating up, scores twice as Sabres beat Wild 3-2",
        "Jack Eichel scored twice, including the winner in overtime, as Buffalo edged "
        "Minnesota on Thursday. Linus Ullmark made 31 saves for the Sabres, who ended a "
        "three-game losing streak in front of their home crowd.",
    ),
    "57d46c9d": (
        "Supply cuts lift oil higher, stocks slip from highs",
        "Oil prices climbed on Thursday after reports that OPEC and its allies would extend "
        "output cuts into next year, while world shares eased back from record levels. Brent "
        "crude rose above 63 dollars a barrel in London trading.",
    ),
    "432362af": (
        "Mongolian herder catches bubonic plague after eating marmot",
        "Health officials in western Mongolia placed a province under quarantine after a "
        "herder fell ill with bubonic plague. The man had eaten raw marmot meat, a local "
        "delicacy that is banned because the rodents can carry the disease.",
    ),
    "5a822960": (
        "House Hitler lived in as a teenager to become museum",
        "The flat in Linz where Adolf Hitler spent part of his youth will open as a small "
        "museum about the Nazi era, the city council decided. Historians said the exhibition "
        "would focus on the victims and on how the region supported the regime.",
    ),
    "2c46804d": (
        "Dramatic video shows rescue of 5-year-old kidnapping victim in Dallas apartment",
        "Dallas police released body camera footage on Wednesday of officers breaking into an "
        "apartment to free a five-year-old boy who had been missing for two days. A woman who "
        "lived there was arrested and charged with kidnapping.",
    ),
    "4a44ab3e": (
        "Bolivia's interim president calls new elections as Morales supporters lift blockades",
        "Bolivia's interim leader signed a law on Sunday calling fresh presidential elections, "
        "a step protest leaders had demanded before they would clear road blockades around "
        "La Paz. Evo Morales, who is in Mexico, will not be allowed to stand.",
    ),
    "42aad16b": (
        "NASA's commercial moon shot: first lander contract goes to Astrobotic",
        "NASA awarded Pittsburgh-based Astrobotic a contract to carry science instruments to "
        "the lunar surface in 2021, the first delivery under its commercial lander programme. "
        "The company's Peregrine lander will launch on a United Launch Alliance rocket.",
    ),
    "156770d6": (
        "South Dakota governor doubles down on hemp veto",
        "Governor Kristi Noem said on Thursday she would veto any bill that legalises "
        "industrial hemp in South Dakota, repeating her view that it would make policing "
        "marijuana harder. Farm groups had urged lawmakers to try again this session.",
    ),
    "39d5c43b": (
        "Beijing farm purchase pledge may shrink US-China trade deal",
        "Chinese negotiators are unwilling to write a fixed figure for purchases of American "
        "soybeans and pork into a first-phase agreement, people briefed on the talks said. "
        "Washington wants a commitment of up to 50 billion dollars a year.",
    ),
    "35b15891": (
        "Doobie Brothers cancel Blossom show after McDonald illness",
        "The Doobie Brothers have called off their concert at Blossom Music Center after "
        "Michael McDonald was ordered to rest his voice, the venue said. Ticket holders will "
        "be refunded at the point of purchase.",
    ),
    "358cc4a0": (
        "BREAKING NEWS: Chelsea Activate £40m Clause To Sign Mateo Kovacic From Real Madrid",
        "Chelsea have made Mateo Kovacic's loan move permanent, paying Real Madrid a fee of "
        "about £40 million for the Croatia midfielder despite their transfer ban. Kovacic "
        "signed a five-year contract at the club's training ground on Tuesday.",
    ),
    "1ace8c85": (
        "New York State Attorney General reportedly investigating Juul",
        "New York's attorney general has opened an investigation into how e-cigarette maker "
        "Juul marketed its products to teenagers, according to people familiar with the "
        "matter. The company said it was cooperating with regulators in several states.",
    ),
    "05844573": (
        "New trucks and hybrids highlight Detroit Auto Show",
        "Pickup trucks and hybrid crossovers filled the floor of the auto show in Detroit, "
        "which opened to the press on Monday. Ford showed an electric version of its F-150 "
        "and Toyota a new Highlander hybrid.",
    ),
    "3cb22bfa": (
        "2021 Audi e-tron GT revealed as electric 4-door sports car",
        "Audi showed the production e-tron GT in Berlin on Tuesday, a low electric four-door "
        "that shares its platform with the Porsche Taycan. The car will reach dealers next "
        "spring with up to 590 horsepower in its RS version.",
    ),
    "08f79376": (
        "Steelers player on Myles Garrett's role in fight with Mason Rudolph: He went too far",
        "Steelers guard David DeCastro said on Wednesday that Myles Garrett's swing of a helmet "
        "crossed a line, though he accepted that both teams lost their heads. The league heard "
        "Garrett's appeal of his indefinite suspension the same day.",
    ),
    "16c30add": (
        "The law that's helping clean Beijing's air",
        "Beijing's air has improved sharply since China's 2013 clean air plan forced coal "
        "boilers out of the capital and its surrounding provinces. Average fine particle "
        "levels fell by more than a third in five years, according to city data.",
    ),
    "06e5123e": (
        "WeWork begins laying off thousands of employees",
        "WeWork started telling staff on Thursday that their jobs were going, the first wave "
        "of cuts under its new chairman, people at the company said. Cleaning and maintenance "
        "work will be handed to outside contractors.",
    ),
}

# Real articles from different sites that tell the same story.
SAME_REAL = [("06e5123e", "1ace8c85"), ("2c46804d", "51d066b0")]
# Real articles on the same subject that tell different stories (an opinion column on an event
# is not the news report of it).
SAME_TOPIC_REAL = [
    ("076f4f33", "16c30add"),
    ("14cc2a0c", "359fee22"),
    ("14cc2a0c", "3c5bf8db"),
    ("359fee22", "42aad16b"),
    ("14cc2a0c", "42aad16b"),
    ("3c5bf8db", "359fee22"),
    ("05844573", "3cb22bfa"),
    ("05844573", "06ee193d"),
    ("3cb22bfa", "06ee193d"),
    ("3cb5e2f4", "05844573"),
    ("360c732d", "57d46c9d"),
    ("51374560", "57d46c9d"),
    ("39d5c43b", "57d46c9d"),
    ("55bb6340", "51374560"),
    ("232a43fb", "291a8bf3"),
    ("042bb7b5", "287e4d9f"),
    ("287e4d9f", "20b2b649"),
    ("156770d6", "3f65af7b"),
    ("0d461229", "264dc3ae"),
    ("08f79376", "264dc3ae"),
    ("4a44ab3e", "1ee91d1f"),
    ("2c46804d", "5caf91b8"),
    ("098bb3e9", "042bb7b5"),
    ("06e5123e", "57e2e988"),
    ("4648a420", "57e2e988"),
]

# Words another desk would put differently.
REWORD = {
    "said": "stated",
    "says": "states",
    "announced": "unveiled",
    "company": "firm",
    "people": "individuals",
    "also": "as well",
    "about": "around",
    "new": "latest",
    "big": "large",
    "week": "seven days",
    "help": "assist",
    "show": "display",
    "started": "began",
    "before": "ahead of",
    "after": "following",
    "many": "numerous",
    "but": "however",
    "because": "since",
    "expected": "anticipated",
    "However": "Still",
    "buy": "purchase",
    "told": "informed",
    "according": "pointing",
    "including": "among them",
}
AGENCY_TAILS = [
    "Reporting by staff; Editing by the news desk.",
    "Follow us for more stories like this one.",
    "Copyright the news agency. All rights reserved.",
]
SITES = ["Daily Wire Desk", "Morning Post", "City Ledger", "The Courier"]


def main() -> None:
    pages = _pages()
    rng = random.Random(15)
    rows = list(_rows(pages, rng))
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    same = sum(r["label"] == "same" for r in rows)
    print(f"{len(rows)} pairs ({same} same story, {len(rows) - same} different) → {OUT}")


def _pages() -> dict[str, dict[str, object]]:
    truth = json.loads((CORPUS / "articles" / "ground-truth.json").read_text("utf-8"))
    pages = {}
    for key, value in truth.items():
        with gzip.open(HERE_PAGES / f"{key}.html.gz", "rt", errors="replace") as raw:
            page = raw.read()
        found = re.search(OG_TITLE, page) or re.search(r"<title[^>]*>(.*?)</title>", page, re.S)
        title = " ".join(html.unescape(found.group(1)).split()) if found else ""
        paras = [" ".join(p.split()) for p in str(value["articleBody"]).split("\n") if p.strip()]
        pages[key[:8]] = {"title": title, "paragraphs": paras, "url": value["url"]}
    return pages


def _side(title: str, paragraphs: list[str], origin: str) -> dict[str, str]:
    """A side of a pair: its headline and its first WORDS words, paragraphs kept."""
    kept, n = [], 0
    for p in paragraphs:
        words = p.split()
        if n + len(words) > WORDS:
            if WORDS - n >= 8:
                kept.append(" ".join(words[: WORDS - n]))
            break
        kept.append(p)
        n += len(words)
    return {"title": title, "text": "\n\n".join(kept), "from": origin}


def _page(key: str, pages: dict) -> dict[str, str]:
    p = pages[key]
    return _side(p["title"], p["paragraphs"], f"corpus/articles {key}… ({p['url']})")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"'‘])", text) if s]


def _rewrite(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Another desk's version: sentences dropped and swapped, words put differently, cut."""
    out = []
    for n, p in enumerate(paragraphs[: max(2, len(paragraphs) * 2 // 3)]):
        sentences = _sentences(p)
        if n and len(sentences) > 2:
            sentences = [s for i, s in enumerate(sentences) if i == 0 or rng.random() > 0.25]
        if len(sentences) >= 2 and rng.random() < 0.4:
            sentences[0], sentences[1] = sentences[1], sentences[0]
        text = " ".join(sentences)
        text = re.sub(
            r"\b(" + "|".join(REWORD) + r")\b",
            lambda m: REWORD[m.group(1)] if rng.random() < 0.7 else m.group(1),
            text,
        )
        out.append(text)
    return out


def _rows(pages: dict, rng: random.Random) -> Iterator[dict]:
    keys = sorted(pages)
    for key in keys:
        p = pages[key]
        page = _page(key, pages)
        first = next((x for x in p["paragraphs"] if len(x.split()) >= 8), p["paragraphs"][0])
        teaser = _sentences(first)[:2]
        yield _pair(
            "same",
            "teaser",
            page,
            _side(
                p["title"], [" ".join(teaser)], f"{key}: the feed's teaser (its first sentences)"
            ),
        )
        site = SITES[rng.randrange(len(SITES))]
        tail = AGENCY_TAILS[rng.randrange(len(AGENCY_TAILS))]
        dateline = f"({site}) — "
        copy = [dateline + p["paragraphs"][0], *p["paragraphs"][1:6], tail]
        yield _pair(
            "same",
            "agency copy",
            page,
            _side(f"{p['title']} | {site}", copy, f"{key}: the same copy on another site"),
        )
        if key in REHEADLINED:
            headline, intro = REHEADLINED[key]
            body = [intro, *_rewrite(p["paragraphs"], rng)]
            how = f"{key}: re-headlined and re-worded by hand and script, own intro"
        else:
            headline = f"{site}: {p['title']}"
            body = _rewrite(p["paragraphs"][1:] or p["paragraphs"], rng)
            how = f"{key}: re-worded by script, first paragraph dropped"
        yield _pair("same", "rewrite", page, _side(headline, body, how))
        if key in OTHER_EVENT:
            title, text = OTHER_EVENT[key]
            other = _side(title, _sentences(text), f"{key}: a different event, written by hand")
            yield _pair("different", "near-identical headline", page, other)
            # The same subject and a paragraph of the other's background, as agencies reuse it.
            # The background is one of the story's later paragraphs within its first WORDS.
            shown = page["text"].split("\n\n")[1:]
            # Background runs to a sentence or two (cut to two).
            background = [" ".join(_sentences(x)[:2]) for x in shown if len(x.split()) >= 15][-1:]
            shared = _side(
                title,
                [text, *background],
                f"{key}: a different event with the other's background paragraph",
            )
            yield _pair("different", "shared background", page, shared)
            # A teaser of the other event against this story's teaser: titles and little text.
            teaser_b = _side(title, _sentences(text)[:1], f"{key}: teaser of a different event")
            teaser_a = _side(p["title"], [" ".join(teaser[:1])], f"{key}: the feed's teaser")
            yield _pair("different", "teasers, near-identical headline", teaser_a, teaser_b)
    for a, b in SAME_REAL:
        yield _pair("same", "two sites (real)", _page(a, pages), _page(b, pages))
    for a, b in SAME_TOPIC_REAL:
        yield _pair("different", "same topic (real)", _page(a, pages), _page(b, pages))
    others = [(a, b) for a in keys for b in keys if a < b]
    known = {frozenset(x) for x in SAME_REAL + SAME_TOPIC_REAL}
    for a, b in rng.sample(others, 24):
        if frozenset((a, b)) not in known:
            yield _pair("different", "unrelated (real)", _page(a, pages), _page(b, pages))
    yield from _feed_rows()


def _feed_rows() -> Iterator[dict]:
    """The one item of feedparser's examples that several of its feeds carry (the same story
    in RSS 1.0, RSS 2.0 and RDF), and a different item against it."""
    root = CORPUS / "feeds" / "kurtmckee-feedparser" / "docs" / "examples" / "examples"
    sides = []
    for name in ("rss20dc.xml", "prism.rdf", "nonstandard_prefix.rdf", "rss10.rdf"):
        entry = feedparser.parse(str(root / name)).entries[0]
        sides.append(
            _side(entry.title, [entry.summary], f"corpus/feeds …/docs/examples/examples/{name}")
        )
    for i, a in enumerate(sides):
        for b in sides[i + 1 :]:
            yield _pair("same", "one item in two feeds (real)", a, b)
    base = feedparser.parse(str(root / "base.xml")).entries[0]
    text = re.sub(r"<[^>]+>", " ", base.summary)
    other = _side(base.title, [" ".join(text.split())], "corpus/feeds …/examples/base.xml")
    yield _pair("different", "unrelated feed items (real)", sides[0], other)


def _pair(label: str, kind: str, a: dict, b: dict) -> dict:
    return {"label": label, "kind": kind, "a": a, "b": b}


if __name__ == "__main__":
    main()
