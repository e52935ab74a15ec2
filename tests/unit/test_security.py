"""Kafka/Redis security settings are validated and reach faust and every aiokafka client."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import faust
import pytest
from pydantic import ValidationError

from stream.security import bearer_matches, faust_credentials, kafka_client_config, redis_kwargs
from stream.settings import Settings
from stream.worker import faust_settings


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(crt), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    return crt, key


def test_plaintext_is_the_default() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert kafka_client_config(settings)["security_protocol"] == "PLAINTEXT"
    assert faust_credentials(settings) is None
    assert faust_settings(settings)["broker_credentials"] is None


def test_tls_builds_one_context_for_faust_and_aiokafka(cert: tuple[Path, Path]) -> None:
    crt, key = cert
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_security_protocol="SSL", kafka_ssl_cafile=crt,
        kafka_ssl_certfile=crt, kafka_ssl_keyfile=key,
    )
    config = kafka_client_config(settings)
    assert config["security_protocol"] == "SSL"
    assert isinstance(config["ssl_context"], ssl.SSLContext)
    assert config["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert isinstance(faust_credentials(settings), faust.SSLCredentials)


def test_sasl_scram_over_tls(cert: tuple[Path, Path]) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=cert[0],
        kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_username="pulse",
        kafka_sasl_password="s3cret",
    )
    config = kafka_client_config(settings)
    assert (config["sasl_mechanism"], config["sasl_plain_username"],
            config["sasl_plain_password"]) == ("SCRAM-SHA-256", "pulse", "s3cret")
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "SASL_USERNAME"),
        ({"kafka_ssl_certfile": "/etc/hostname"}, "_KEYFILE"),
        ({"kafka_ssl_cafile": "/nope.pem"}, "no such file"),
    ],
)
def test_incomplete_security_settings_are_rejected(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **fields)  # type: ignore[call-arg]


def test_redis_password_and_tls(cert: tuple[Path, Path]) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url="rediss://127.0.0.1:6380/0", redis_password="pw",
        redis_ssl_ca_certs=cert[0],
    )
    kwargs = redis_kwargs(settings)
    assert kwargs["password"] == "pw" and kwargs["ssl_ca_certs"] == str(cert[0])


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),  # the scheme is case-insensitive (RFC 7235)
        ("BEARER  s3cret ", True),
        ("Bearer s3cret2", False),
        ("Bearer S3CRET", False),  # the token is not
        ("Basic s3cret", False),
        ("s3cret", False),
        ("Bearer", False),
        ("", False),
        (None, False),
    ],
)
def test_bearer_matches(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, "s3cret") is ok
