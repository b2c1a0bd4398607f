"""factory-boy factories for oauthkit's models.

``ClientFactory`` keeps the raw secret of a confidential client on the instance as
``raw_secret`` (it is stored only as a hash)::

    client = ClientFactory(confidential=True)
    client.raw_secret
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from oauthkit.provider.hashing import hash_secret, new_secret
from oauthkit.provider.models import AccessToken, Client, Consent, RefreshToken


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClientFactory(factory.django.DjangoModelFactory):
    """A confidential client with the code, refresh and client-credentials grants."""

    class Meta:
        model = Client
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Client {n}")
    client_type = Client.ClientType.CONFIDENTIAL
    token_endpoint_auth_method = Client.AuthMethod.CLIENT_SECRET_BASIC
    redirect_uris = factory.LazyFunction(lambda: ["https://client.example.com/callback"])
    grant_types = factory.LazyFunction(
        lambda: ["authorization_code", "refresh_token", "client_credentials"]
    )

    class Params:
        public = factory.Trait(
            client_type=Client.ClientType.PUBLIC,
            token_endpoint_auth_method=Client.AuthMethod.NONE,
            grant_types=["authorization_code", "refresh_token"],
        )
        confidential = factory.Trait(client_type=Client.ClientType.CONFIDENTIAL)

    @factory.post_generation
    def raw_secret(obj, create, extracted, **kwargs):
        if obj.is_public:
            obj.raw_secret = None
        else:
            obj.raw_secret = extracted or new_secret(32)
            obj.secret_hash = hash_secret(obj.raw_secret)
        if create:
            obj.save()


class _KeepsRawToken(factory.django.DjangoModelFactory):
    """Stores only the hash of ``raw_token`` and keeps the raw value on the instance."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, raw_token=None, **kwargs):
        obj = super()._create(model_class, *args, **kwargs)
        obj.raw_token = raw_token
        return obj


class AccessTokenFactory(_KeepsRawToken):
    """An opaque access token row; the raw value is on ``raw_token``."""

    class Meta:
        model = AccessToken

    raw_token = factory.LazyFunction(lambda: new_secret(32))
    client = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)
    scope = "read"
    jti = factory.LazyFunction(lambda: new_secret(16))
    token_hash = factory.LazyAttribute(lambda o: hash_secret(o.raw_token))
    grant_id = factory.LazyFunction(uuid.uuid4)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class RefreshTokenFactory(_KeepsRawToken):
    """A refresh token row; the raw value is on ``raw_token``."""

    class Meta:
        model = RefreshToken

    raw_token = factory.LazyFunction(lambda: new_secret(32))
    client = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)
    scope = "read"
    token_hash = factory.LazyAttribute(lambda o: hash_secret(o.raw_token))
    grant_id = factory.LazyFunction(uuid.uuid4)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    user = factory.SubFactory(UserFactory)
    client = factory.SubFactory(ClientFactory)
    scope = "read"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=365))
