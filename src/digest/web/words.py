"""The fixed words of the web pages, in the list's `language` (BCP 47: `de`, `pt-BR`, …).

A reader who clicks "unsubscribe" in a German newsletter must not land on an English page. A
language is matched by its primary subtag (`de-AT` → `de`); one not here falls back to English.
Placeholders (`{address}`, `{title}`) are filled by the page, escaped."""

from __future__ import annotations

__all__ = ["LANGUAGES", "words"]

_EN = {
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_ask": "Unsubscribe {address} from {title}?",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribe_note": "You will get no more issues of {title}.",
    "unsubscribed": "{address} is unsubscribed from {title}.",
    "unsubscribed_note": "You will get no more issues. Clicked by mistake?",
    "already": "{address} is already unsubscribed from {title}.",
    "resubscribe_button": "Resubscribe",
    "resubscribed": "{address} is subscribed to {title} again.",
    "resubscribed_note": "Welcome back: the next issue will reach you.",
    "undo_refused": "This link can no longer subscribe {address} again.",
    "undo_refused_note": "Only a recent unsubscribe made with this link can be undone. "
    "Ask the sender of {title} to take you back.",
    "bad_link": "This unsubscribe link is not valid",
    "bad_link_note": "It may be incomplete or altered. Use the link in the email you got, "
    "whole, or reply to that email and ask to be removed.",
    "preview_link": "This link comes from a preview",
    "preview_link_note": "Previews carry no reader's link, so it unsubscribes nobody.",
    "not_found": "Not found",
    "not_found_note": "There is no page here.",
    "archive_title": "{title}: past issues",
    "archive_feed": "Atom feed of these issues",
    "archive_empty": "No issue has been sent yet.",
    "view_archive": "All past issues",
    "web_reader": "every reader",
    "web_unsubscribe": "Use the unsubscribe link in your own copy of the email.",
    "in_your_copy": "To unsubscribe, use the link in your own copy of the email.",
}

_DE = {
    "unsubscribe_title": "Abmelden",
    "unsubscribe_ask": "{address} von {title} abmelden?",
    "unsubscribe_button": "Abmelden",
    "unsubscribe_note": "Sie erhalten dann keine Ausgaben von {title} mehr.",
    "unsubscribed": "{address} ist von {title} abgemeldet.",
    "unsubscribed_note": "Sie erhalten keine Ausgaben mehr. Versehentlich geklickt?",
    "already": "{address} ist von {title} bereits abgemeldet.",
    "resubscribe_button": "Wieder anmelden",
    "resubscribed": "{address} ist wieder bei {title} angemeldet.",
    "resubscribed_note": "Willkommen zurück: Die nächste Ausgabe erreicht Sie.",
    "undo_refused": "Mit diesem Link lässt sich {address} nicht mehr anmelden.",
    "undo_refused_note": "Nur eine kürzliche Abmeldung über diesen Link lässt sich "
    "rückgängig machen. Bitten Sie den Absender von {title}, Sie wieder aufzunehmen.",
    "bad_link": "Dieser Abmeldelink ist ungültig",
    "bad_link_note": "Er ist vielleicht unvollständig oder verändert. Nutzen Sie den ganzen "
    "Link aus der E-Mail, oder antworten Sie auf die E-Mail.",
    "preview_link": "Dieser Link stammt aus einer Vorschau",
    "preview_link_note": "Eine Vorschau trägt keinen Leserlink; er meldet niemanden ab.",
    "not_found": "Nicht gefunden",
    "not_found_note": "Hier gibt es keine Seite.",
    "archive_title": "{title}: frühere Ausgaben",
    "archive_feed": "Atom-Feed dieser Ausgaben",
    "archive_empty": "Es wurde noch keine Ausgabe verschickt.",
    "view_archive": "Alle früheren Ausgaben",
    "web_reader": "alle Leser",
    "web_unsubscribe": "Nutzen Sie den Abmeldelink in Ihrer eigenen E-Mail.",
    "in_your_copy": "Zum Abmelden nutzen Sie den Link in Ihrer eigenen E-Mail.",
}

_FR = {
    "unsubscribe_title": "Se désabonner",
    "unsubscribe_ask": "Désabonner {address} de {title} ?",
    "unsubscribe_button": "Se désabonner",
    "unsubscribe_note": "Vous ne recevrez plus {title}.",
    "unsubscribed": "{address} est désabonné de {title}.",
    "unsubscribed_note": "Vous ne recevrez plus de numéros. Une erreur ?",
    "already": "{address} est déjà désabonné de {title}.",
    "resubscribe_button": "Se réabonner",
    "resubscribed": "{address} est de nouveau abonné à {title}.",
    "resubscribed_note": "Bon retour : le prochain numéro vous parviendra.",
    "undo_refused": "Ce lien ne peut plus réabonner {address}.",
    "undo_refused_note": "Seul un désabonnement récent fait avec ce lien peut être annulé. "
    "Demandez à l'expéditeur de {title} de vous réinscrire.",
    "bad_link": "Ce lien de désabonnement n'est pas valide",
    "bad_link_note": "Il est peut-être incomplet ou modifié. Utilisez le lien entier de "
    "l'e-mail reçu, ou répondez à cet e-mail.",
    "preview_link": "Ce lien vient d'un aperçu",
    "preview_link_note": "Un aperçu ne porte le lien d'aucun lecteur : il ne désabonne personne.",
    "not_found": "Introuvable",
    "not_found_note": "Il n'y a pas de page ici.",
    "archive_title": "{title} : numéros précédents",
    "archive_feed": "Flux Atom de ces numéros",
    "archive_empty": "Aucun numéro n'a encore été envoyé.",
    "view_archive": "Tous les numéros précédents",
    "web_reader": "chaque lecteur",
    "web_unsubscribe": "Utilisez le lien de désabonnement de votre propre e-mail.",
    "in_your_copy": "Pour vous désabonner, utilisez le lien de votre propre e-mail.",
}

_ES = {
    "unsubscribe_title": "Darse de baja",
    "unsubscribe_ask": "¿Dar de baja {address} de {title}?",
    "unsubscribe_button": "Darse de baja",
    "unsubscribe_note": "No recibirá más números de {title}.",
    "unsubscribed": "{address} se ha dado de baja de {title}.",
    "unsubscribed_note": "No recibirá más números. ¿Fue un error?",
    "already": "{address} ya está dado de baja de {title}.",
    "resubscribe_button": "Volver a suscribirse",
    "resubscribed": "{address} vuelve a estar suscrito a {title}.",
    "resubscribed_note": "Bienvenido de nuevo: recibirá el próximo número.",
    "undo_refused": "Este enlace ya no puede volver a suscribir {address}.",
    "undo_refused_note": "Solo se puede deshacer una baja reciente hecha con este enlace. "
    "Pida al remitente de {title} que le vuelva a incluir.",
    "bad_link": "Este enlace de baja no es válido",
    "bad_link_note": "Puede estar incompleto o alterado. Use el enlace completo del correo "
    "recibido, o responda a ese correo.",
    "preview_link": "Este enlace viene de una vista previa",
    "preview_link_note": "Una vista previa no lleva el enlace de ningún lector: "
    "no da de baja a nadie.",
    "not_found": "No encontrado",
    "not_found_note": "Aquí no hay ninguna página.",
    "archive_title": "{title}: números anteriores",
    "archive_feed": "Canal Atom de estos números",
    "archive_empty": "Aún no se ha enviado ningún número.",
    "view_archive": "Todos los números anteriores",
    "web_reader": "cada lector",
    "web_unsubscribe": "Use el enlace de baja de su propio correo.",
    "in_your_copy": "Para darse de baja, use el enlace de su propio correo.",
}

LANGUAGES = {"en": _EN, "de": _DE, "fr": _FR, "es": _ES}


def words(language: str) -> dict[str, str]:
    """The page words for a BCP 47 tag: its primary language, else English."""
    return LANGUAGES.get(language.split("-", 1)[0].casefold(), _EN)
