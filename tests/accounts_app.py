"""One app server with accounts and single sign-on on, shared by a module's browser tests.

``accounts_app`` starts, once a module and only when a test asks for it:

* a local OpenID Connect provider (oidc-provider-mock, in a thread of the test process, on
  127.0.0.1): its authorization form takes a subject, and a person it does not know gets the
  subject as their email claim (``claims`` sets other claims first);
* ``streamlit run app.py`` with ``INTERVIEWER_ACCOUNTS``, ``INTERVIEWER_SSO`` (provider
  ``mock``) and ``INTERVIEWER_SSO_REGISTERS=false``, its own data directory, and Streamlit's
  ``[auth]`` settings in a ``secrets.toml`` of a temporary folder (``--secrets.files``);
* one headless Chromium (``chromium``); each person gets a browser context of their own.

Accounts, links and invitations are made directly in the server's database (as the
``interviewer users`` command does), and the tests read it back to check what the pages did.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from interviewer.accounts.access import Role, Viewer
from interviewer.accounts.account_store import AccountStore
from interviewer.accounts.records import InterviewLink, LinkSpec, User
from interviewer.accounts.service import Accounts
from interviewer.config import Settings
from interviewer.domain import Level
from interviewer.store import SessionStore
from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["PASSWORD", "AccountsApp", "accounts_app", "chromium"]

PASSWORD = "correct horse battery"  # every account the tests make with a password
WAIT = 60_000  # ms: the first page of a run loads the question bank and the model


@dataclass
class AccountsApp:
    """The running app, its provider, and its database."""

    url: str
    provider: str
    data: Path
    settings: Settings

    def accounts(self) -> Accounts:
        """The app's accounts, in its database (a new connection each time)."""
        return Accounts(AccountStore(SessionStore.for_data_dir(self.data)), self.settings)

    def user(self, email: str) -> User | None:
        """The account of ``email``, as the users table holds it now."""
        return self.accounts().store.user(email=email)

    def add(self, email: str, role: Role = Role.CANDIDATE, team: str = "default") -> User:
        """An account with ``PASSWORD``."""
        return self.accounts().add_user(
            email, role, team, email.partition("@")[0].title(), PASSWORD
        )

    def link(
        self, reviewer: User, *, uses: int | None = 2, expired: bool = False
    ) -> tuple[InterviewLink, str]:
        """A phone-screen link of ``reviewer``'s team; returns it and its code. ``expired``:
        one whose expiry has passed (stored directly: the service refuses a past expiry)."""
        accounts = self.accounts()
        spec = LinkSpec(pack_id="backend-developer", level=Level.MID, format="phone-screen")
        if not expired:
            return accounts.create_link(reviewer.viewer, spec, "test", max_uses=uses)
        code = secrets.token_urlsafe(24)
        link = InterviewLink(
            id=secrets.token_hex(8),
            team=reviewer.team,
            created_by=reviewer.id,
            label="expired",
            spec=spec,
            expires_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds"),
            created_at=(datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds"),
        )
        accounts.store.add_link(code, link)
        return link, code

    def invite(self, email: str, role: Role, team: str = "default") -> str:
        """An invitation (made as the server's own admin), its token."""
        return self.accounts().invite(Viewer(None, Role.ADMIN, team), email, role, team)

    def claims(self, subject: str, **claims: object) -> None:
        """Tell the provider who ``subject`` is (email, name, ...) before they sign in."""
        request = urllib.request.Request(
            f"{self.provider}/users/{subject}",
            data=json.dumps(claims).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5).close()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the app's database."""
        from sqlalchemy import text

        store = SessionStore.for_data_dir(self.data)
        with store.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text(sql), params)]
        store.engine.dispose()
        return rows

    # --- in the browser -----------------------------------------------------------------

    def sign_in(self, page: Page, email: str, password: str = PASSWORD, path: str = "/") -> None:
        """Open ``path`` and sign in with a password on the sign-in page it shows."""
        page.goto(self.url + path)
        self.submit_password(page, email, password)

    @staticmethod
    def submit_password(page: Page, email: str, password: str = PASSWORD) -> None:
        """Fill and send the sign-in form already on the page."""
        form = page.locator('[data-testid="stForm"]').filter(has_text="Password").first
        form.get_by_label("Email", exact=True).fill(email, timeout=WAIT)
        form.get_by_label("Password", exact=True).fill(password)
        form.get_by_role("button", name="Sign in").click()

    def sso(self, page: Page, subject: str) -> None:
        """On the app's sign-in page: single sign-on as ``subject`` through the provider's
        form (the app's page must be showing the button)."""
        page.get_by_role("button", name="Sign in with single sign-on").click(timeout=WAIT)
        page.locator("input[name=sub]").fill(subject, timeout=WAIT)
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{self.url}/**", timeout=WAIT)


@contextmanager
def _provider() -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 in a thread; yields its issuer URL."""
    import authlib.deprecate  # noqa: F401  (it sets its own filter on import: before ours)
    import werkzeug.serving

    with warnings.catch_warnings():  # the mock imports an Authlib module Authlib deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        from oidc_provider_mock import app

    server = werkzeug.serving.make_server("127.0.0.1", free_port(), app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture(scope="module")
def accounts_app(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[AccountsApp]:
    """The provider and the app server, for the whole module (see this file's text)."""
    root = tmp_path_factory.mktemp("accounts-app")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _provider() as provider:
        secrets_file = root / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "{url}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(16)}"\n'
            "[auth.mock]\n"
            'client_id = "interviewer"\n'
            'client_secret = "not-a-secret"\n'
            f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        )
        (root / "settings.toml").write_text("")
        data = root / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
        env.update(
            INTERVIEWER_DATA_DIR=str(data),
            INTERVIEWER_CACHE_DIR=str(model_cache),
            INTERVIEWER_SETTINGS_FILE=str(root / "settings.toml"),
            INTERVIEWER_ACCOUNTS="true",
            INTERVIEWER_SSO="true",
            INTERVIEWER_SSO_PROVIDER="mock",
            INTERVIEWER_SSO_REGISTERS="false",
        )
        settings = Settings(
            data_dir=data,
            cache_dir=model_cache,
            accounts=True,
            sso=True,
            sso_provider="mock",
            sso_registers=False,
        )
        with (root / "server.log").open("wb") as log:
            proc = start_app(port, env, ["--secrets.files", str(secrets_file)], log)
            try:
                wait_for(f"{url}/_stcore/health", timeout=60, alive=lambda: proc.poll() is None)
                yield AccountsApp(url, provider, data, settings)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=1)
                except subprocess.TimeoutExpired:  # a throwaway server: no need to be patient
                    proc.kill()
                    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, once a module (Playwright's sync API allows one at a
    time: test_browser.py starts its own)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium package is needed (./run test installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
