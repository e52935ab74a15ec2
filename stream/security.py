"""Kafka and Redis connection security, from settings into every client in one place.

faust gets `broker_credentials`; our own aiokafka clients (changelog recovery, topic admin, the
producer of `simulate`/`produce`) get the same protocol, TLS context and SASL login.
"""

from __future__ import annotations

import hmac
import ssl
from typing import Any

import faust
from aiokafka.helpers import create_ssl_context

from stream.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if "SSL" not in settings.kafka_security_protocol:
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
        certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
        keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
    )
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


def kafka_client_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client."""
    config: dict[str, Any] = {
        "bootstrap_servers": ",".join(settings.kafka_bootstrap),
        "security_protocol": settings.kafka_security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        config["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        config.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password.get_secret_value() if password else None,
        )
    return config


def faust_credentials(settings: Settings) -> Any:
    """faust's `broker_credentials`, or None for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    context = ssl_context(settings)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    return None


def redis_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
    if settings.redis_password is not None:
        kwargs["password"] = settings.redis_password.get_secret_value()
    if settings.redis_ssl_ca_certs is not None:
        kwargs["ssl_ca_certs"] = str(settings.redis_ssl_ca_certs)
    return kwargs


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries `token` as a bearer credential.

    The scheme is case-insensitive (RFC 7235 §2.1: `bearer`, `BEARER`), blanks around the
    credential are ignored; the token itself is compared in constant time.
    """
    scheme, _, credential = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credential.strip().encode(), token.encode())
