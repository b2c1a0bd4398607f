"""SQL queries per request on the hot paths (ARCHITECTURE principle 4).

Inside a test, each grant's ``transaction.atomic`` opens a SAVEPOINT (the test already
holds a transaction) and Django's capture counts SAVEPOINT and RELEASE like any other
statement. In production they are BEGIN/COMMIT, so the budgets below count only the
statements that read or write data, and the raw total is bounded by the budget plus
those two transaction statements.
"""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oauthkit.provider.keys import key_ring
from oauthkit.testing.factories import ConsentFactory
from tests.helpers import authorize_params, basic_auth, get_code, pkce_pair, post_form, redeem

pytestmark = pytest.mark.django_db

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@contextmanager
def data_queries_at_most(limit: int, django_assert_max_num_queries):
    """At most ``limit`` data statements (and ``limit + 2`` statements in all)."""
    with django_assert_max_num_queries(limit + 2):
        with CaptureQueriesContext(connection) as captured:
            yield
        statements = [q["sql"] for q in captured.captured_queries]
        data = [sql for sql in statements if not sql.upper().startswith(TRANSACTION_CONTROL)]
        assert len(data) <= limit, "\n".join(data)


@pytest.fixture(autouse=True)
def warm_key_ring():
    """Keys are cached per process (KEY_CACHE_TIMEOUT); measure the steady state."""
    key_ring.signing_key()
    key_ring.verification_keys()


def test_client_credentials_at_most_3_queries(client, oauth_client, django_assert_max_num_queries):
    data = {"grant_type": "client_credentials"}

    # client, INSERT access token (+ one spare).
    with data_queries_at_most(3, django_assert_max_num_queries):
        response = post_form(client, "/o/token/", data, **basic_auth(oauth_client))

    assert response.status_code == 200, response.content


def test_code_exchange_at_most_6_queries(client, user, oauth_client, django_assert_max_num_queries):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)

    # client, code (+ user), consume UPDATE, INSERT access token, INSERT refresh token.
    with data_queries_at_most(6, django_assert_max_num_queries):
        response = redeem(client, oauth_client, code, verifier)

    assert response.status_code == 200, response.content


def test_refresh_at_most_6_queries(client, user, oauth_client, django_assert_max_num_queries):
    client.force_login(user)
    code, verifier = get_code(client, oauth_client)
    refresh_token = redeem(client, oauth_client, code, verifier).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}

    # client, refresh token (+ user), rotate UPDATE, INSERT access, INSERT refresh.
    with data_queries_at_most(6, django_assert_max_num_queries):
        response = post_form(client, "/o/token/", data, **basic_auth(oauth_client))

    assert response.status_code == 200, response.content


def test_authorize_with_remembered_consent_at_most_4_queries(
    client, user, oauth_client, django_assert_max_num_queries
):
    ConsentFactory(user=user, client=oauth_client, scope="read")
    client.force_login(user)
    _, challenge = pkce_pair()
    params = authorize_params(oauth_client, challenge)

    # session, user, client with the consent annotated, INSERT code.
    with data_queries_at_most(4, django_assert_max_num_queries):
        response = client.get("/o/authorize/", params)

    assert response.status_code == 302
    assert "code=" in response["Location"]
