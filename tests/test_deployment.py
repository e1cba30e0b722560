"""A team's deployment for real: PostgreSQL and a Chroma server started by
``scripts/team_stack.py``, and two `streamlit run` app servers sharing them, driven in Debian's
headless Chromium.

One stack serves the whole module. What it shows: an app server started while Chroma is down
says so on the page and recovers once it is up; two app servers starting at once against one
new Chroma server converge on one index; an interview moves between servers with every turn
intact (no sticky sessions needed for it), but a report's download lives only in the server that
drew it (downloads do need them); a stale write from one server after another moved on is
refused; PostgreSQL stopping mid-interview loses nothing; two servers opening a new database at
once both succeed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from interviewer.accounts.access import LOCAL
from interviewer.config import PROJECT_ROOT, Settings
from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from interviewer.embeddings import MiniLMEmbeddings

STACK = PROJECT_ROOT / "scripts" / "team_stack.py"
BOX = '[data-testid="stChatInputTextArea"]'
IDLE = """() => {
  const boxes = document.querySelectorAll('[data-testid="stChatInputTextArea"]');
  const box = boxes.length ? boxes[boxes.length - 1] : null;
  const running = document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
  return box !== null && !box.disabled && running === null;
}"""


@dataclass
class Deployment:
    """The running stack: its folder, the app servers' settings, the servers, a browser, and
    what the deployment showed while it came up."""

    folder: Path
    settings: dict[str, str]
    servers: list[str]  # app servers A and B
    browser: BrowserContext  # one browser profile: its cache and cookies serve every test
    chroma_down: dict[str, Any] = field(default_factory=dict)  # observed during start-up

    def stack(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run scripts/team_stack.py on this stack's folder, as a deployer would."""
        return _team_stack(*args, "--dir", str(self.folder))

    def turns(self, session_id: str) -> list[tuple[int, str, str]]:
        """The session's stored turns: (seq, speaker, text), in order, read from PostgreSQL."""
        engine = create_engine(self.settings["INTERVIEWER_DATABASE_URL"])
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT seq, speaker, text FROM turns WHERE session_id = :id ORDER BY seq"
                    ),
                    {"id": session_id},
                ).all()
        finally:
            engine.dispose()
        return [(r[0], r[1], r[2]) for r in rows]

    def answers(self, session_id: str) -> list[str]:
        """The candidate's stored messages."""
        return [t for _, speaker, t in self.turns(session_id) if speaker == "candidate"]


def _team_stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(STACK), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def deployment(model_cache: Path) -> Iterator[Deployment]:
    """The deployment coming up as it may in real life: PostgreSQL first, then two app
    servers, server B's first page while Chroma is still down (what it showed is kept for
    the test), then Chroma, and both servers' first pages at the same moment."""
    from playwright.sync_api import sync_playwright
    from postgres import available

    reason = available()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="interviewer-team-"))
    root.chmod(0o711)  # as root, PostgreSQL runs as 'postgres', which must reach the folder
    folder = root / "stack"
    ports = ["--postgres-port", "0", "--chroma-port", "0"]
    started = _team_stack("start", "--dir", str(folder), "--only", "postgres", *ports, "--json")
    assert started.returncode == 0, started.stderr
    settings: dict[str, str] = json.loads(started.stdout)
    (root / "empty.toml").write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
    base |= settings | {
        "INTERVIEWER_CACHE_DIR": str(model_cache),
        "INTERVIEWER_SETTINGS_FILE": str(root / "empty.toml"),
    }
    app_ports = [free_port() for _ in range(2)]
    processes = [
        start_app(port, base | {"INTERVIEWER_DATA_DIR": str(root / f"app-{port}")})
        for port in app_ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in app_ports]
    playwright = sync_playwright().start()
    try:
        for url, proc in zip(urls, processes, strict=True):
            wait_for(f"{url}/_stcore/health", timeout=60, alive=lambda p=proc: p.poll() is None)
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser = chromium.new_context()
        deployment = Deployment(folder, settings, urls, browser)
        _come_up(deployment)
        yield deployment
        chromium.close()
    finally:
        playwright.stop()
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()  # its interviews are in PostgreSQL: nothing to lose
                proc.wait(timeout=10)
        _team_stack("stop", "--dir", str(folder))
        shutil.rmtree(root, ignore_errors=True)


def _come_up(deployment: Deployment) -> None:
    """Server B's first page while Chroma is down (kept for the test to check), then Chroma,
    then both servers' first pages at the same moment."""
    from playwright.sync_api import expect

    status = deployment.stack("status", "--json")
    page = deployment.browser.new_page()
    page.goto(deployment.servers[1], timeout=60_000)
    shown = page.locator('[data-testid="stAlertContentError"]')
    shown.wait_for(timeout=60_000)
    deployment.chroma_down = {
        "status": (status.returncode, json.loads(status.stdout)),
        "message": shown.inner_text(),
        "tracebacks": page.locator('[data-testid="stException"]').count(),
        "errors_after": [],
    }
    page.close()
    assert deployment.stack("start", "--only", "chroma").returncode == 0
    pages = [deployment.browser.new_page() for _ in deployment.servers]
    for page, url in zip(pages, deployment.servers, strict=True):
        page.goto(url, wait_until="commit", timeout=60_000)  # both start at once
    for page in pages:
        expect(page.get_by_role("button", name="Start interview")).to_be_visible(timeout=120_000)
        errors = page.locator('[data-testid="stAlertContentError"]').count()
        deployment.chroma_down["errors_after"].append(errors)
        page.close()


# --- helpers --------------------------------------------------------------------------------


def _settle(page: Page) -> None:
    """Wait until the page's script run is over and the chat input takes text again."""
    page.wait_for_function(IDLE, timeout=60_000)
    page.wait_for_timeout(200)  # a rerun may follow (a reply, then its redraw)
    page.wait_for_function(IDLE, timeout=60_000)


def _start_interview(page: Page, server: str) -> str:
    from playwright.sync_api import expect

    page.goto(server, timeout=120_000)
    page.get_by_role("button", name="Start interview").click(timeout=120_000)
    expect(page.get_by_text("Question 1 of")).to_be_visible(timeout=60_000)
    _settle(page)
    return page.url.split("session=")[1].split("&")[0]


def _answer(page: Page, deployment: Deployment, session_id: str, message: str) -> None:
    """Send ``message`` and wait until it is stored and the reply is on the page."""
    box = page.locator(BOX).last
    box.fill(message)
    box.press("Enter")
    deadline = time.monotonic() + 30
    while message not in deployment.answers(session_id):
        assert time.monotonic() < deadline, f"{message!r} was never stored"
        page.wait_for_timeout(100)
    _settle(page)


def _stored_or_given_back(page: Page, deployment: Deployment, session_id: str, message: str) -> str:
    """'stored', or 'given back' (a warning says it was not sent, and the text is back in the
    box): whichever happens first, waiting up to 30 s; fails if neither does."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if message in deployment.answers(session_id):
            _settle(page)
            return "stored"
        warnings = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
        boxes = page.locator(BOX)
        if (
            boxes.count()
            and boxes.last.input_value() == message
            and any("not sent" in w for w in warnings)
        ):
            _settle(page)
            return "given back"
        page.wait_for_timeout(100)
    raise AssertionError(f"{message!r} is neither stored nor given back on screen")


def _no_error_shown(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def _whole(deployment: Deployment, session_id: str) -> list[tuple[int, str, str]]:
    """The stored turns, checked against the stored state: numbered 0.. with no gap, and the
    same texts in the same order as the session's saved state."""
    from interviewer.store import SessionStore

    rows = deployment.turns(session_id)
    store = SessionStore(deployment.settings["INTERVIEWER_DATABASE_URL"])
    try:
        session = store.load(session_id, viewer=LOCAL)
    finally:
        store.engine.dispose()
    assert [r[0] for r in rows] == list(range(len(rows)))
    assert [r[2] for r in rows] == [t.text for t in session.turns]
    return rows


# --- the tests ------------------------------------------------------------------------------


def test_index_server_down_at_start_then_both_servers_start_at_once(
    deployment: Deployment, embeddings: MiniLMEmbeddings
) -> None:
    """Chroma down when an app server starts: the page names the URL and what to do (no
    traceback), and the stack's status says which service is down. Once it is up, two app
    servers bring one new index in step at the same moment; it then holds every question
    exactly once, at its current content."""
    from interviewer.corpus import load_corpus
    from interviewer.index import QuestionIndex
    from interviewer.pack_catalog import discover, pack_dirs

    seen = deployment.chroma_down
    assert seen["status"] == (3, {"postgres": True, "chroma": False})
    chroma_url = deployment.settings["INTERVIEWER_CHROMA_URL"]
    message = seen["message"].replace("\u2060", "")  # the word joiner that keeps it text
    assert chroma_url in message
    assert "cannot be reached" in message and "reload the page" in message
    assert seen["tracebacks"] == 0
    assert seen["errors_after"] == [0, 0]  # both servers came up once Chroma was there

    corpus = load_corpus(Settings().corpus_dir).questions
    ids = {q.id for q in corpus}
    own = [q for q in discover(pack_dirs()).questions if q.id not in ids]
    expected = {q.id: q.content_hash() for q in [*corpus, *own]}
    index = QuestionIndex.from_settings(Settings(chroma_url=chroma_url), embeddings)
    assert index.count() == len(expected)
    assert index.hashes() == expected


def test_an_interview_continues_on_another_server_but_a_download_does_not(
    deployment: Deployment,
) -> None:
    """A refresh that lands on the other server (`?session=<id>`) shows the whole interview
    and takes the next answer there; back on the first server, all of it is there too. The
    report's download, though, is only on the server that drew it."""
    from playwright.sync_api import expect

    a, b = deployment.servers
    page = deployment.browser.new_page()
    session_id = _start_interview(page, a)
    first = "On server A: I would put a cache in front of the slow service, with a short TTL."
    _answer(page, deployment, session_id, first)
    page.goto(f"{b}/?session={session_id}", timeout=60_000)
    expect(page.get_by_text(first)).to_be_visible(timeout=60_000)
    _settle(page)
    second = "On server B: I would measure the hit rate and the tail latency before and after."
    _answer(page, deployment, session_id, second)
    page.goto(f"{a}/?session={session_id}", timeout=60_000)
    for said in (first, second):
        expect(page.get_by_text(said)).to_be_visible(timeout=60_000)
    _no_error_shown(page)
    rows = _whole(deployment, session_id)
    assert [t for _, s, t in rows if s == "candidate"] == [first, second]
    assert rows[-1][1] == "interviewer"  # each answer got its reply

    # Why a proxy in front of several app servers should still be sticky: Streamlit keeps a
    # download button's file in the memory of the server process that drew the button.
    page.get_by_role("button", name="End", exact=False).filter(has_text="End").first.click()
    expect(page.get_by_text("End the interview now?")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="End now").click()
    expect(page.get_by_text("Your interview report")).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="JSON").click()
    drawn = urlsplit(download.value.url)
    assert f"{drawn.scheme}://{drawn.netloc}" == a and drawn.path.startswith("/media/")
    with urllib.request.urlopen(f"{a}{drawn.path}", timeout=10) as got:
        assert json.loads(got.read())["session_id"] == session_id
    with pytest.raises(urllib.error.HTTPError) as elsewhere:
        urllib.request.urlopen(f"{b}{drawn.path}", timeout=10)
    assert elsewhere.value.code == 404
    page.close()


def test_a_stale_write_from_one_server_is_refused_after_the_other_moved_on(
    deployment: Deployment,
) -> None:
    """Server B holds a copy of an interview; server A moves it on; B's save of its stale copy
    is refused and nothing A stored changes. Then both servers take a message in the same
    instant: each one is stored or refused on screen with its text given back."""
    from interviewer.store import SessionConflictError, SessionStore

    a, b = deployment.servers
    one = deployment.browser.new_page()
    session_id = _start_interview(one, a)
    url = deployment.settings["INTERVIEWER_DATABASE_URL"]
    other = SessionStore(url)  # a second process's store, as server B has it
    try:
        stale = other.load(session_id, viewer=LOCAL)
        _answer(one, deployment, session_id, "Server A's answer: shard by customer id.")
        before = _whole(deployment, session_id)
        stale.turns = [*stale.turns, stale.turns[-1].model_copy(update={"text": "B's stale copy"})]
        with pytest.raises(SessionConflictError):
            other.save(stale)
    finally:
        other.engine.dispose()
    assert _whole(deployment, session_id) == before

    two = deployment.browser.new_page()
    two.goto(f"{b}/?session={session_id}", timeout=60_000)
    _settle(two)
    tabs = {"A": one, "B": two}
    texts = {name: f"On server {name}: I would add a read replica." for name in tabs}
    for name, tab in tabs.items():
        tab.locator(BOX).last.fill(texts[name])
    for tab in tabs.values():  # both Enter keys at once
        tab.locator(BOX).last.press("Enter")
    outcome = {
        name: _stored_or_given_back(tab, deployment, session_id, texts[name])
        for name, tab in tabs.items()
    }
    assert "stored" in outcome.values(), outcome  # one of them always goes through
    rows = _whole(deployment, session_id)
    answers = [t for _, s, t in rows if s == "candidate"]
    assert len(answers) == len(set(answers))  # nothing stored twice
    one.close()
    two.close()


def test_postgres_going_away_mid_interview_loses_nothing(deployment: Deployment) -> None:
    """PostgreSQL stops while a candidate types: the page says so and the answer goes back in
    the box, nothing is written; once PostgreSQL is back, the same answer goes through. After
    a restart no request saw, the next answer goes through at once."""
    from playwright.sync_api import expect

    a = deployment.servers[0]
    page = deployment.browser.new_page()
    session_id = _start_interview(page, a)
    _answer(page, deployment, session_id, "Before the outage: I would use a queue.")
    before = _whole(deployment, session_id)

    assert deployment.stack("stop", "--only", "postgres").returncode == 0
    typed = "During the outage: I would make the consumer idempotent with a dedup key."
    box = page.locator(BOX).last
    box.fill(typed)
    box.press("Enter")
    expect(page.get_by_text("cannot be reached just now")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Your message was not sent")).to_be_visible(timeout=30_000)
    _settle(page)
    assert page.locator(BOX).last.input_value() == typed  # the answer is kept
    assert page.locator('[data-testid="stException"]').count() == 0

    assert deployment.stack("start", "--only", "postgres").returncode == 0
    assert _whole(deployment, session_id) == before  # nothing half-written
    page.locator(BOX).last.press("Enter")  # send the kept answer again
    deadline = time.monotonic() + 30
    while typed not in deployment.answers(session_id):
        assert time.monotonic() < deadline, "the kept answer was not stored once the DB was back"
        page.wait_for_timeout(100)
    _settle(page)
    rows = _whole(deployment, session_id)
    assert rows[: len(before)] == before
    assert [t for _, s, t in rows if s == "candidate"][-1] == typed
    assert rows[-1][1] == "interviewer"  # and it was answered
    expect(page.get_by_text("cannot be reached just now")).to_have_count(0)

    # A restart nobody noticed (no request while it was down): the server's pooled
    # connections are dead, and the next answer still goes through at the first try.
    assert deployment.stack("stop", "--only", "postgres").returncode == 0
    assert deployment.stack("start", "--only", "postgres").returncode == 0
    _answer(page, deployment, session_id, "After a quiet restart: I would add a dead letter queue.")
    _no_error_shown(page)
    page.close()


def test_team_stack_keeps_its_password_private_and_requires_it(deployment: Deployment) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    state = deployment.folder / "stack.json"
    assert state.stat().st_mode & 0o777 == 0o600
    url = make_url(deployment.settings["INTERVIEWER_DATABASE_URL"])
    assert url.password and url.password in state.read_text()
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database, password="x"
        ).close()


def test_two_servers_opening_a_new_database_at_once(postgres_url: str) -> None:
    """Both create the tables of a new database at the same instant: one waits for the other
    (without the migration lock, one of the two failed every time)."""
    from interviewer.store import SessionStore

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    names = [f"fresh_{os.getpid()}_{i}" for i in range(3)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f"CREATE DATABASE {name}"))
    errors: list[BaseException] = []
    versions: list[list[Any]] = []
    for name in names:
        url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
        barrier = threading.Barrier(2)

        def open_store(url: str = url, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                store = SessionStore(url)
                store.engine.dispose()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        engine = create_engine(url)
        with engine.connect() as conn:
            versions.append(
                [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations"))]
            )
        engine.dispose()
    admin.dispose()
    assert errors == []
    from interviewer.store import MIGRATIONS

    assert all(sorted(v) == [m[0] for m in MIGRATIONS] for v in versions)
