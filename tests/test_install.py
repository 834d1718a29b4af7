"""`digest` on a user's PATH: `make install`, and the next step `digest init` prints.

A user copies the printed next step into the same shell, so each test runs the line it printed
with bash, in the environment that printed it, and checks that it previews the new newsletter
and "opens" it. The browser is the one Python's webbrowser module is told to use through the
documented BROWSER variable: a small script that writes down the address it was given. Nothing
here looks at how the hint is worked out, only at whether it works.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import digest

REPO = Path(__file__).resolve().parent.parent
DIGEST = Path(sys.executable).parent / "digest"  # the project's own script, in .venv/bin
BASH = shutil.which("bash") or "/bin/bash"


def _clean_path() -> str:
    """This process's PATH without any folder that holds a `digest`."""
    folders = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not (Path(f) / "digest").exists())


def _env(tmp_path: Path, *first: Path) -> dict[str, str]:
    """A user's environment: HOME in tmp_path, PATH with `first` in front, a recording browser."""
    browser = tmp_path / "browser"
    if not browser.exists():
        browser.write_text('#!/bin/sh\nprintf "%s\\n" "$1" >> "$OPENED"\n', encoding="utf-8")
        browser.chmod(0o755)
        (tmp_path / "home").mkdir()
    path = os.pathsep.join([*(str(f) for f in first), _clean_path()])
    return {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "PATH": path,
        "BROWSER": str(browser),
        "OPENED": str(tmp_path / "opened"),
    }


def _shell(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, "-c", line], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _next_step(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("Next: ")]
    assert len(lines) == 1, stdout
    return lines[0].removeprefix("Next: ")


def _runs_and_opens(line: str, cwd: Path, env: dict[str, str], folder: Path) -> None:
    """The printed line exits 0 in `cwd`, writes the new newsletter's preview and opens it."""
    run = _shell(line, cwd, env)
    assert run.returncode == 0, run.stderr
    html = sorted((folder / "preview").glob("daily-*.html"))
    assert len(html) == 1, run.stdout
    assert "Welcome to your new digest" in html[0].read_text(encoding="utf-8")
    opened = Path(env["OPENED"]).read_text(encoding="utf-8").split()
    assert opened == [html[0].resolve().as_uri()]


def test_hint_is_plain_digest_when_the_digest_on_path_is_this_one(tmp_path: Path) -> None:
    """`digest` on PATH is a link to this very script, as `make install` and pipx make it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "digest").symlink_to(DIGEST)
    env = _env(tmp_path, bin_dir)
    init = _shell("digest init my-briefing", tmp_path, env)
    assert init.returncode == 0, init.stderr
    assert init.stderr == ""
    line = _next_step(init.stdout)
    assert line == "cd my-briefing && digest preview --open"
    assert init.stdout.rstrip().endswith(line)  # no advice about PATH after it
    _runs_and_opens(line, tmp_path, env, tmp_path / "my-briefing")


def test_hint_names_the_running_digest_when_none_is_on_path(tmp_path: Path) -> None:
    """Run as `.venv/bin/digest` by a relative path, with no digest on PATH: the old README's
    way, where `cd my-briefing && digest preview --open` failed with "command not found"."""
    env = _env(tmp_path)
    assert shutil.which("digest", path=env["PATH"]) is None
    relative = os.path.relpath(DIGEST, tmp_path)
    init = subprocess.run(
        [relative, "init", "my-briefing"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    line = _next_step(init.stdout)
    assert line.startswith("cd my-briefing && /")  # absolute: still right after the cd
    _runs_and_opens(line, tmp_path, env, tmp_path / "my-briefing")
    advice = init.stdout.rstrip().splitlines()[-1]
    assert f"make -C {REPO} install" in advice  # this checkout, so the line can be pasted


def test_hint_skips_another_digest_on_path(tmp_path: Path) -> None:
    """A different `digest` comes first on PATH (an old install, another tool): the printed line
    runs this one, and says so."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    other = bin_dir / "digest"
    other.write_text("#!/bin/sh\necho 'another digest' >&2\nexit 3\n", encoding="utf-8")
    other.chmod(0o755)
    env = _env(tmp_path, bin_dir)
    init = subprocess.run(
        [str(DIGEST), "init", "news"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    line = _next_step(init.stdout)
    assert line == f"cd news && {DIGEST} preview --open"
    assert f"the digest on your PATH, {other}, is another installation" in init.stdout
    _runs_and_opens(line, tmp_path, env, tmp_path / "news")


def test_hint_quotes_paths_with_spaces(tmp_path: Path) -> None:
    """A newsletter folder and a digest link whose paths hold spaces: the printed line and the
    advice's export line both work in bash as they are."""
    tools = tmp_path / "my tools"
    tools.mkdir()
    (tools / "digest").symlink_to(DIGEST)
    env = _env(tmp_path)
    init = subprocess.run(
        [str(tools / "digest"), "init", "my briefing"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    line = _next_step(init.stdout)
    assert line == f"cd 'my briefing' && '{tools}/digest' preview --open"
    _runs_and_opens(line, tmp_path, env, tmp_path / "my briefing")
    export = re.search(r"(export PATH=.*) \(in ~/", init.stdout)
    assert export, init.stdout
    after = _shell(f"{export[1]} && digest --version", tmp_path, env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == f"digest, version {digest.__version__}"


def _digest_pyproject(folder: Path, name: str) -> None:
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        text.replace('name = "digest"', f'name = "{name}"', 1), encoding="utf-8"
    )


def test_init_inside_a_clone_of_digest_warns(tmp_path: Path) -> None:
    """Run from the clone as `digest init my-briefing`, the newsletter lands in digest's own
    repository: it is made, with a one-line warning that names a folder of its own."""
    clone = tmp_path / "digest"
    _digest_pyproject(clone, "digest")
    env = _env(tmp_path)
    init = subprocess.run(
        [str(DIGEST), "init", "my-briefing"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    assert (clone / "my-briefing" / "digest.toml").is_file()
    [warning] = init.stderr.splitlines()
    assert warning.startswith(f"warning: my-briefing is inside the digest repository {clone}")
    assert warning.endswith(f"digest init {tmp_path / 'home' / 'my-briefing'}")


def test_init_inside_another_git_repository_does_not_warn(tmp_path: Path) -> None:
    """A newsletter kept in its own git repository is what people do: no warning there."""
    repo = tmp_path / "letters"
    _digest_pyproject(repo, "letters")
    init = subprocess.run(
        [str(DIGEST), "init", "weekly"],
        cwd=repo,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert init.stderr == ""


def test_make_install_puts_digest_on_path_and_uninstall_removes_it(tmp_path: Path) -> None:
    """The README's `make install`, into a HOME in tmp_path, for real: a new venv, pip installing
    this checkout and its dependencies (from the package index, as for a user; about 15-30 s),
    and the link in ~/.local/bin. The installed copy is a copy, not the clone. With that folder on
    PATH the tour's next lines work; `make uninstall` then removes the link and the venv."""
    env = _env(tmp_path)
    home = Path(env["HOME"])
    install = subprocess.run(
        ["make", "-C", str(REPO), "install"], env=env, capture_output=True, text=True, check=False
    )
    assert install.returncode == 0, install.stdout + install.stderr
    link = home / ".local" / "bin" / "digest"
    venv = home / ".local" / "share" / "digest" / "venv"
    assert f"{link.parent} is not on your PATH" in install.stdout
    assert f'export PATH="{link.parent}:$PATH"' in install.stdout
    assert link.is_symlink() and link.resolve() == (venv / "bin" / "digest").resolve()
    version = subprocess.run([str(link), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == f"digest, version {digest.__version__}", version.stderr
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import digest; print(digest.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)

    on_path = _env(tmp_path, link.parent)
    init = _shell("digest init ~/my-briefing", tmp_path, on_path)
    assert init.returncode == 0, init.stderr
    line = _next_step(init.stdout)
    assert line == f"cd {home / 'my-briefing'} && digest preview --open"
    _runs_and_opens(line, tmp_path, on_path, home / "my-briefing")
    again = subprocess.run(
        ["make", "-C", str(REPO), "install"], env=on_path, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Installed: digest runs {link}" in again.stdout

    uninstall = subprocess.run(
        ["make", "-C", str(REPO), "uninstall"], env=env, capture_output=True, text=True
    )
    assert uninstall.returncode == 0, uninstall.stderr
    assert not link.is_symlink() and not venv.exists()
    assert (home / "my-briefing" / "digest.toml").is_file()  # newsletters are the user's


def test_make_install_never_replaces_a_digest_it_did_not_put_there(tmp_path: Path) -> None:
    """BINDIR and PREFIX given; a `digest` already in BINDIR is someone else's: refused, before
    anything is installed, with one line saying what to do."""
    bin_dir, prefix = tmp_path / "bin", tmp_path / "prefix"
    bin_dir.mkdir()
    (bin_dir / "digest").write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    install = subprocess.run(
        ["make", "-s", "-C", str(REPO), "install", f"PREFIX={prefix}", f"BINDIR={bin_dir}"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode != 0
    assert install.stderr.splitlines()[0] == (
        f"make install: {bin_dir}/digest exists and is not digest's link; "
        "remove it or set BINDIR=..."
    )
    assert (bin_dir / "digest").read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert not prefix.exists()
