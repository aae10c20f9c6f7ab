"""Getting access tokens for the Dataverse Web API.

`MsalAuth` wraps one `msal.ConfidentialClientApplication`:
- mode "user": an admin signs in once with the authorization-code flow (`start_sign_in` /
  `finish_sign_in`); afterwards tokens come silently from the cache or the refresh token.
- mode "app": client credentials (an application user in Dataverse).
The token cache is serializable so the portal can store it (encrypted) between requests.

`StaticTokenAuth` hands out a fixed token, for tests.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msal
import msal.authority
import requests

from .environment import environment_origin
from .errors import AuthError, DynamicsError
from .http import JsonObject, connect_error

# Entra answers with these OAuth error codes when trying again later may work.
_TRANSIENT_OAUTH_ERRORS = {"temporarily_unavailable", "server_error"}


class StaticTokenAuth:
    """Always returns the same access token. For tests and one-off scripts."""

    def __init__(self, token: str):
        self.token = token

    def access_token(self, *, force_refresh: bool = False) -> str:
        return self.token


class MsalAuth:
    """Access tokens for one Dataverse environment from Microsoft Entra ID (or the emulator).

    `authority` is `https://login.microsoftonline.com/<tenant>` in production. For any other host
    (the emulator) instance discovery is turned off, because msal would otherwise first ask
    login.microsoftonline.com whether the host is a valid authority. `session` (from
    `make_session`) carries msal's HTTP too, so the same CA bundle applies to sign-in.
    The msal application is created on first use: creating it already fetches the OpenID
    configuration, and an unreachable identity provider should fail as ConnectError at the point
    where a token is needed, not when the object is built.
    `environment_url` must pass `environment_origin` (with the operator's `extra_allowed_hosts`):
    the token's scope names it, and a refused URL raises EnvironmentUrlRefused here.
    """

    def __init__(
        self,
        *,
        environment_url: str,
        client_id: str,
        client_credential: str | dict[str, str],
        authority: str,
        session: requests.Session,
        token_cache: str | msal.SerializableTokenCache | None = None,
        mode: str = "user",
        extra_allowed_hosts: Iterable[str] = (),
    ):
        if mode not in ("user", "app"):
            raise ValueError(f"mode must be 'user' or 'app', not {mode!r}")
        self.environment_url = environment_origin(
            environment_url, extra_allowed_hosts=extra_allowed_hosts
        )
        self.scopes = [f"{self.environment_url}/.default"]
        self.client_id = client_id
        self.authority = authority.rstrip("/")
        self.mode = mode
        self._client_credential = client_credential
        self._session = session
        if isinstance(token_cache, msal.SerializableTokenCache):
            self._cache = token_cache
        else:
            self._cache = msal.SerializableTokenCache()
            if token_cache:
                self._cache.deserialize(token_cache)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    # -- sign-in (mode "user") ------------------------------------------------------------

    def start_sign_in(
        self, redirect_uri: str, *, login_hint: str | None = None, state: str | None = None
    ) -> JsonObject:
        """Begin the authorization-code flow; store the returned dict, redirect to its auth_uri.

        response_mode is "query": with "form_post" the identity provider POSTs back to us from
        another site, and browsers do not send a SameSite=Lax session cookie on that POST, so the
        portal would lose the session that holds this flow. msal warns about every mode but
        form_post; that one warning is silenced here, on purpose.
        """
        app = self._application()
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="response_mode='form_post' is recommended", category=UserWarning
            )
            try:
                flow: JsonObject = app.initiate_auth_code_flow(
                    self.scopes,
                    redirect_uri=redirect_uri,
                    login_hint=login_hint,
                    state=state,
                    response_mode="query",
                )
            except requests.RequestException as exc:
                raise connect_error(exc, url=self.authority) from None
        return flow

    def finish_sign_in(self, flow: JsonObject, params: Mapping[str, Any]) -> JsonObject:
        """Complete the flow with the redirect's query parameters; return the ID token claims.

        Raises AuthError when the state does not match (a stale or forged callback), when the
        person cancelled, or when the identity provider refused.
        """
        app = self._application()
        try:
            result = app.acquire_token_by_auth_code_flow(flow or {}, dict(params))
        except ValueError as exc:
            raise AuthError(
                "The sign-in response does not belong to the sign-in that was started "
                f"(state mismatch or missing code); please start again. ({exc})",
                url=self.authority,
            ) from None
        except requests.RequestException as exc:
            raise connect_error(exc, url=self.authority) from None
        except msal.exceptions.MsalServiceError as exc:
            raise AuthError(
                f"The identity provider failed: {exc}", url=self.authority, retryable=True
            ) from None
        if "error" in result:
            raise _oauth_error(result, url=self.authority, during="sign-in")
        claims = result.get("id_token_claims")
        if not isinstance(claims, dict):
            raise AuthError("The identity provider returned no ID token.", url=self.authority)
        return claims

    # -- tokens ---------------------------------------------------------------------------

    def access_token(self, *, force_refresh: bool = False) -> str:
        """Return a valid access token, from the cache when possible.

        Mode "user" uses the signed-in account's refresh token; raises AuthError when there is no
        account or the refresh token is gone or refused (an admin must sign in again).
        Mode "app" uses client credentials. `force_refresh` skips the cached access token (after
        Dynamics answered 401 to it).
        """
        app = self._application()
        try:
            with self._lock:
                if self.mode == "app":
                    if force_refresh:
                        self._drop_cached_access_tokens()
                    result = app.acquire_token_for_client(self.scopes)
                else:
                    accounts = app.get_accounts()
                    if not accounts:
                        raise AuthError(
                            "No signed-in Dynamics account is stored; an admin must sign in.",
                            url=self.authority,
                        )
                    result = app.acquire_token_silent_with_error(
                        self.scopes, account=accounts[0], force_refresh=force_refresh
                    )
        except requests.RequestException as exc:
            raise connect_error(exc, url=self.authority) from None
        except msal.exceptions.MsalServiceError as exc:
            raise AuthError(
                f"The identity provider failed: {exc}", url=self.authority, retryable=True
            ) from None
        except ValueError as exc:  # msal could not decode the token endpoint's answer
            raise AuthError(
                f"The identity provider sent an unreadable answer: {exc}",
                url=self.authority,
                retryable=True,
            ) from None
        if result is None:
            raise AuthError(
                "The stored sign-in has no usable refresh token; an admin must sign in again.",
                url=self.authority,
            )
        if "error" in result:
            raise _oauth_error(result, url=self.authority, during="token refresh")
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError("The identity provider returned no access token.", url=self.authority)
        return token

    def cache_state(self) -> str | None:
        """The serialized token cache if it changed since it was loaded or last saved, else None."""
        if self._cache.has_state_changed:
            state: str = self._cache.serialize()
            return state
        return None

    def account(self) -> JsonObject | None:
        """The signed-in account (msal's dict with "username", "home_account_id"...), or None."""
        accounts: list[JsonObject] = self._application().get_accounts()
        return accounts[0] if accounts else None

    # -- internals ------------------------------------------------------------------------

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                host = (urlsplit(self.authority).hostname or "").lower()
                known_host = host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._client_credential,
                        authority=self.authority,
                        token_cache=self._cache,
                        http_client=self._session,
                        instance_discovery=None if known_host else False,
                        azure_region=False,
                    )
                except requests.RequestException as exc:
                    raise connect_error(exc, url=self.authority) from None
                except (ValueError, KeyError) as exc:
                    # msal refuses non-https authorities and incomplete discovery documents.
                    raise AuthError(
                        f"The sign-in authority is not usable: {exc}", url=self.authority
                    ) from None
                except msal.exceptions.MsalServiceError as exc:
                    raise AuthError(
                        f"The identity provider failed: {exc}", url=self.authority, retryable=True
                    ) from None
            return self._app

    def _drop_cached_access_tokens(self) -> None:
        # msal refuses force_refresh for client credentials; removing the cached access token
        # makes the next acquire_token_for_client() ask the identity provider.
        access_tokens = list(
            self._cache.search(
                msal.TokenCache.CredentialType.ACCESS_TOKEN, query={"client_id": self.client_id}
            )
        )
        for item in access_tokens:
            self._cache.remove_at(item)


def _oauth_error(result: JsonObject, *, url: str, during: str) -> DynamicsError:
    code = str(result.get("error"))
    description = str(result.get("error_description") or "").strip().splitlines()
    detail = description[0] if description else ""
    if code == "access_denied":
        message = "Sign-in was cancelled or access was denied."
    elif code == "invalid_grant":
        message = f"The stored sign-in is no longer valid; an admin must sign in again. {detail}"
    elif code in ("invalid_client", "unauthorized_client"):
        message = f"The app registration's client id or secret was refused. {detail}"
    else:
        message = f"The identity provider refused the {during}: {code}. {detail}"
    return AuthError(message.strip(), code=code, url=url, retryable=code in _TRANSIENT_OAUTH_ERRORS)
