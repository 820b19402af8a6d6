"""Who a provider says signed in, and whether this service lets them in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.auth.oidc import PERSONAL_ACCOUNTS_TENANT
from app.core.config import Settings


@dataclass(frozen=True)
class Account:
    # The provider's stable id for the account (`sub`).
    subject: str
    # Only an address the provider vouches for; "" when it does not.
    email: str
    name: str
    # Microsoft's directory (`tid`); "" for other providers.
    tenant: str


def is_true(value: object) -> bool:
    # A JSON boolean, or the string some providers send instead.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def email_is_verified(
    provider: str, source: Mapping[str, object], id_token: Mapping[str, object]
) -> bool:
    """Whether the provider vouches for the email in `source` (the ID token, or UserInfo).

    OpenID Connect says so in `email_verified` (Google always sends it). Microsoft does
    not: the `email` of a work or school account is whatever its tenant's admin typed, so
    any tenant could claim any address. Microsoft verified it when the account is a
    personal one (Microsoft confirmed the address at sign-up), or when the token says so
    in the optional claim `xms_edov` (email domain owner verified), which the app
    registration adds (README: Sign-in)."""
    stated = source.get("email_verified")
    if stated is not None:
        return is_true(stated)
    if provider == "microsoft":
        personal = id_token.get("tid") == PERSONAL_ACCOUNTS_TENANT
        return personal or is_true(id_token.get("xms_edov"))
    return False


def account_from(
    provider: str, id_token: Mapping[str, object], userinfo: Mapping[str, object]
) -> Account:
    """The account from the ID token's claims, with the UserInfo endpoint's (OIDC Core
    5.4) for what the ID token leaves out."""
    # The email and whether it is verified come together, from one source.
    source = id_token if id_token.get("email") else userinfo
    email = str(source.get("email") or "")
    tenant = str(id_token.get("tid") or "") if provider == "microsoft" else ""
    if not email and tenant == PERSONAL_ACCOUNTS_TENANT:
        # A personal Microsoft account signs in with its address, or with a phone number.
        username = str(id_token.get("preferred_username") or "")
        email = username if "@" in username else ""
    if not email_is_verified(provider, source, id_token):
        email = ""
    name = str(id_token.get("name") or userinfo.get("name") or "")
    return Account(subject=str(id_token["sub"]), email=email, name=name, tenant=tenant)


def refusal(provider: str, account: Account, settings: Settings) -> str | None:
    """Why ALLOWED_EMAIL_DOMAINS or MICROSOFT_ALLOWED_TENANTS keep this account out, in
    words fit for the log (no address); None when it may sign in."""
    domains = settings.allowed_email_domain_set
    if domains and not account.email:
        return "no verified email address, and ALLOWED_EMAIL_DOMAINS is set"
    if domains and account.email.rpartition("@")[2].lower() not in domains:
        return "its email domain is not in ALLOWED_EMAIL_DOMAINS"
    tenants = settings.microsoft_allowed_tenant_set
    if provider == "microsoft" and tenants and account.tenant.lower() not in tenants:
        return f"its tenant {account.tenant or '(none)'} is not in MICROSOFT_ALLOWED_TENANTS"
    return None
