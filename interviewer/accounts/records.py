"""What the accounts tables hold, as validated records."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from interviewer.accounts.access import Role, Viewer
from interviewer.domain import Level

EMAIL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~.-]{1,64}@(?=[^@]{1,255}$)[\w-]{1,63}(?:\.[\w-]{1,63})*$")
"""An address's usual characters (any letter or digit, and the local part's few symbols):
no markup, quotes, brackets, commas or spaces, which no real mailbox needs."""
TEAM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
DEFAULT_TEAM = "default"

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]


def normal_email(raw: str) -> str:
    """An email address as stored and compared: trimmed, lower case; a ValueError when it
    is not one."""
    email = raw.strip().lower()
    if not EMAIL.fullmatch(email):
        raise ValueError(f"'{raw.strip()[:80]}' is not an email address")
    return email


def team_id(raw: str) -> str:
    """A team id: lower-case letters, digits, '.', '_' or '-', at most 40."""
    team = raw.strip().lower()
    if not TEAM.fullmatch(team):
        raise ValueError(
            f"'{raw.strip()[:60]}' is not a team id: use lower-case letters, digits, '.', '_' "
            "or '-', at most 40 characters"
        )
    return team


class User(BaseModel):
    """A person with an account."""

    model_config = ConfigDict(extra="forbid")

    id: str
    email: str
    name: Name = ""
    role: Role
    team: str = DEFAULT_TEAM
    active: bool = True
    has_password: bool = False
    sso_subject: str | None = None
    created_at: str
    last_sign_in_at: str | None = None

    @property
    def viewer(self) -> Viewer:
        """This person as the store's queries see them."""
        return Viewer(self.id, self.role, self.team, self.email, self.name)


class LinkSpec(BaseModel):
    """What an interview link fixes: the candidate only signs in and starts."""

    model_config = ConfigDict(extra="forbid")

    pack_id: str = Field(min_length=1)
    level: Level
    format: str = Field(min_length=1)
    job_description: str = Field(default="", max_length=20_000)
    question_ids: list[str] = Field(default_factory=list, max_length=40)

    @field_validator("question_ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        seen: set[str] = set()
        for qid in ids:
            if qid in seen:
                raise ValueError(f"question '{qid}' is listed twice")
            seen.add(qid)
        return ids


class InterviewLink(BaseModel):
    """A link a reviewer sends to candidates (its code is only ever shown once, at creation,
    and stored hashed)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    team: str
    created_by: str | None
    label: Name
    spec: LinkSpec
    expires_at: str | None = None
    max_uses: int | None = Field(default=None, ge=1)
    uses: int = 0
    created_at: str
    revoked_at: str | None = None

    def problem(self, now: str) -> str | None:
        """Why the link cannot start an interview now, or None when it can."""
        if self.revoked_at is not None:
            return "This interview link was withdrawn by the team that sent it."
        if self.expires_at is not None and now >= self.expires_at:
            return "This interview link has expired."
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "This interview link has been used as many times as it allows."
        return None


class Invite(BaseModel):
    """An invitation to create an account with a given role."""

    model_config = ConfigDict(extra="forbid")

    email: str
    role: Role
    team: str
    created_by: str | None
    created_at: str
    expires_at: str
    used_at: str | None = None
