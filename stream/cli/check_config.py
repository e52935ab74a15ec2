"""`supportpulse check-config`: every file the settings name, validated, and what is in force.

Nothing falls back silently (DESIGN invariant 11): this prints what a worker and a gateway
started with these settings would run, and exits 1 with every problem found.
"""

from __future__ import annotations

import typer

from stream.cli.output import load_settings


def check_config() -> None:
    """Validate settings, the SLA policy, the forecast and the connectors file, clearly."""
    from stream import shipped
    from stream.domain.sla_policy import validate_policy_text
    from stream.gateway.connectors import ConnectorsFileError, load_connectors
    from stream.gateway.process import enabled_routes
    from stream.rollups import ForecastFileError, load_forecast

    settings = load_settings()
    problems: list[str] = []
    policy = shipped.source(settings.sla_policy_file, shipped.POLICY)
    if policy is not None:
        for problem in validate_policy_text(policy.text, policy.name):
            if problem.is_warning:
                typer.echo(f"warning: {problem}", err=True)
            else:
                problems.append(str(problem))
    forecast = shipped.source(settings.forecast_file, shipped.FORECAST)
    try:
        load_forecast(forecast, settings.forecast_multiplier)
    except ForecastFileError as exc:
        problems.append(str(exc))
    if settings.connectors_file is not None:
        try:
            load_connectors(settings.connectors_file)
        except ConnectorsFileError as exc:
            problems.append(str(exc))
    if problems:
        typer.echo("\n".join(problems), err=True)
        raise typer.Exit(1)
    typer.echo(
        f"ok: app {settings.app_id}, brokers {','.join(settings.kafka_bootstrap)}, "
        f"queues {','.join(settings.queues)}, timezone {settings.timezone}\n"
        f"SLA policy: {policy.name if policy else 'none (SLA tracking off)'}\n"
        f"forecast baseline: {forecast.name if forecast else 'none (recent weeks of traffic)'}\n"
        f"gateway connectors: {settings.connectors_file or 'none (default mapping)'}; "
        f"routes: {', '.join(enabled_routes(settings)) or 'none'}"
    )
