#!/bin/sh
# Render Support Pulse's Alertmanager configuration from environment variables.
#
#   render.sh [OUTPUT]      write OUTPUT (mode 0600, replaced atomically), or stdout without one
#
# Alertmanager 0.25 does not expand environment variables in its configuration file, and envsubst
# is not everywhere (nor can it leave out a receiver that is not configured), so this POSIX sh
# script copies alertmanager.yml.tmpl and writes the receivers from these variables:
#
#   SUPPORTPULSE_AM_PAGERDUTY_KEY        PagerDuty Events API v2 routing key        -> pager
#   SUPPORTPULSE_AM_OPSGENIE_KEY         Opsgenie API key                           -> pager
#   SUPPORTPULSE_AM_OPSGENIE_API_URL     optional, e.g. https://api.eu.opsgenie.com/
#   SUPPORTPULSE_AM_SLACK_WEBHOOK_URL    Slack incoming-webhook URL                 -> floor, platform
#   SUPPORTPULSE_AM_SLACK_CHANNEL_FLOOR / SUPPORTPULSE_AM_SLACK_CHANNEL_PLATFORM
#                                        optional channel overrides, e.g. #support-floor
#   SUPPORTPULSE_AM_EMAIL_TO             comma-separated addresses                  -> floor, platform
#   SUPPORTPULSE_AM_SMTP_SMARTHOST       host:port (required with EMAIL_TO)
#   SUPPORTPULSE_AM_SMTP_FROM            sender address (required with EMAIL_TO)
#   SUPPORTPULSE_AM_SMTP_USERNAME, SUPPORTPULSE_AM_SMTP_PASSWORD   optional SMTP auth
#   SUPPORTPULSE_AM_SMTP_REQUIRE_TLS     true (default) or false
#   SUPPORTPULSE_AM_WEBHOOK_URL          generic webhook added to EVERY receiver when set
#   SUPPORTPULSE_AM_TEMPLATE_GLOB        notification templates (default templates/*.tmpl,
#                                        relative to the rendered file's directory)
#
# Secrets need not be in the environment or in the rendered file: instead of
# SUPPORTPULSE_AM_PAGERDUTY_KEY, _OPSGENIE_KEY, _SLACK_WEBHOOK_URL and _SMTP_PASSWORD set the same
# name with a _FILE suffix to a path readable by Alertmanager (a Docker or Kubernetes secret); the
# config then uses Alertmanager's routing_key_file / api_key_file / api_url_file /
# auth_password_file options. Setting both forms of one variable is an error.
#
# Receivers and what each gets:
#   pager     PagerDuty and/or Opsgenie. With neither configured, pages fall back to the chat
#             integrations (Slack / email) so they are still seen.
#   floor     Slack (channel SUPPORTPULSE_AM_SLACK_CHANNEL_FLOOR) and/or email.
#   platform  Slack (channel SUPPORTPULSE_AM_SLACK_CHANNEL_PLATFORM) and/or email.
#   Every receiver also posts to SUPPORTPULSE_AM_WEBHOOK_URL when it is set; a receiver left with
#   no integration at all posts to the default webhook http://127.0.0.1:5001/alerts, so a config
#   rendered from an empty environment is valid and nothing is silently dropped.
#
# Values are written as YAML single-quoted strings; values with line breaks are rejected.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
template_file=$here/alertmanager.yml.tmpl
default_webhook_url=http://127.0.0.1:5001/alerts
nl='
'
cr=$(printf '\r')

die() {
    printf 'render.sh: %s\n' "$*" >&2
    exit 1
}

# q VALUE: VALUE as a YAML single-quoted scalar (line breaks are rejected before rendering).
q() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

# secret NAME: sets secret_kind (value|file|'') and secret_value from NAME or NAME_FILE.
secret() {
    eval "_v=\${$1:-}"
    eval "_f=\${$1_FILE:-}"
    if [ -n "$_v" ] && [ -n "$_f" ]; then
        die "set either $1 or $1_FILE, not both"
    elif [ -n "$_v" ]; then
        secret_kind=value
        secret_value=$_v
    elif [ -n "$_f" ]; then
        secret_kind=file
        secret_value=$_f
    else
        secret_kind=''
        secret_value=''
    fi
}

secret SUPPORTPULSE_AM_PAGERDUTY_KEY
pd_kind=$secret_kind pd_value=$secret_value
secret SUPPORTPULSE_AM_OPSGENIE_KEY
og_kind=$secret_kind og_value=$secret_value
secret SUPPORTPULSE_AM_SLACK_WEBHOOK_URL
slack_kind=$secret_kind slack_value=$secret_value
secret SUPPORTPULSE_AM_SMTP_PASSWORD
smtp_pw_kind=$secret_kind smtp_pw_value=$secret_value

og_api_url=${SUPPORTPULSE_AM_OPSGENIE_API_URL:-}
slack_channel_floor=${SUPPORTPULSE_AM_SLACK_CHANNEL_FLOOR:-}
slack_channel_platform=${SUPPORTPULSE_AM_SLACK_CHANNEL_PLATFORM:-}
email_to=${SUPPORTPULSE_AM_EMAIL_TO:-}
smtp_smarthost=${SUPPORTPULSE_AM_SMTP_SMARTHOST:-}
smtp_from=${SUPPORTPULSE_AM_SMTP_FROM:-}
smtp_username=${SUPPORTPULSE_AM_SMTP_USERNAME:-}
smtp_require_tls=${SUPPORTPULSE_AM_SMTP_REQUIRE_TLS:-true}
webhook_url=${SUPPORTPULSE_AM_WEBHOOK_URL:-}
template_glob=${SUPPORTPULSE_AM_TEMPLATE_GLOB:-templates/*.tmpl}

# Reject line breaks up front: q() runs in command substitutions, where exiting would not stop
# the script.
for _name in pd_value og_value slack_value smtp_pw_value og_api_url slack_channel_floor \
    slack_channel_platform email_to smtp_smarthost smtp_from smtp_username webhook_url \
    template_glob; do
    eval "_val=\$$_name"
    case $_val in
        *"$nl"* | *"$cr"*) die "a value contains a line break ($_name)" ;;
    esac
done

if [ -n "$email_to" ]; then
    [ -n "$smtp_smarthost" ] || die "SUPPORTPULSE_AM_EMAIL_TO needs SUPPORTPULSE_AM_SMTP_SMARTHOST"
    [ -n "$smtp_from" ] || die "SUPPORTPULSE_AM_EMAIL_TO needs SUPPORTPULSE_AM_SMTP_FROM"
fi
case $smtp_require_tls in
    true | false) ;;
    *) die "SUPPORTPULSE_AM_SMTP_REQUIRE_TLS must be true or false" ;;
esac

# --- integrations (each prints one `*_configs:` block for the current receiver) -------------

emit_pagerduty() {
    printf '    pagerduty_configs:\n'
    if [ "$pd_kind" = file ]; then
        printf '      - routing_key_file: %s\n' "$(q "$pd_value")"
    else
        printf '      - routing_key: %s\n' "$(q "$pd_value")"
    fi
    cat <<'EOF'
        send_resolved: true
        severity: critical
        description: '{{ template "supportpulse.title" . }}'
        details:
          summary: '{{ (index .Alerts 0).Annotations.summary }}'
          runbook: '{{ (index .Alerts 0).Annotations.runbook }}'
          runbook_url: '{{ (index .Alerts 0).Annotations.runbook_url }}'
          dashboard: '{{ (index .Alerts 0).Annotations.dashboard }}'
          drilldown: '{{ (index .Alerts 0).Annotations.drilldown }}'
EOF
}

emit_opsgenie() {
    printf '    opsgenie_configs:\n'
    if [ "$og_kind" = file ]; then
        printf '      - api_key_file: %s\n' "$(q "$og_value")"
    else
        printf '      - api_key: %s\n' "$(q "$og_value")"
    fi
    if [ -n "$og_api_url" ]; then
        printf '        api_url: %s\n' "$(q "$og_api_url")"
    fi
    cat <<'EOF'
        send_resolved: true
        priority: P1
        tags: supportpulse
        message: '{{ template "supportpulse.title" . }}'
        description: '{{ template "supportpulse.text" . }}'
        details:
          runbook: '{{ (index .Alerts 0).Annotations.runbook }}'
          runbook_url: '{{ (index .Alerts 0).Annotations.runbook_url }}'
          dashboard: '{{ (index .Alerts 0).Annotations.dashboard }}'
          drilldown: '{{ (index .Alerts 0).Annotations.drilldown }}'
EOF
}

emit_slack() { # CHANNEL (may be empty: the webhook's own channel)
    printf '    slack_configs:\n'
    if [ "$slack_kind" = file ]; then
        printf '      - api_url_file: %s\n' "$(q "$slack_value")"
    else
        printf '      - api_url: %s\n' "$(q "$slack_value")"
    fi
    if [ -n "$1" ]; then
        printf '        channel: %s\n' "$(q "$1")"
    fi
    cat <<'EOF'
        send_resolved: true
        title: '{{ template "supportpulse.title" . }}'
        text: '{{ template "supportpulse.text" . }}'
EOF
}

emit_email() {
    printf '    email_configs:\n'
    printf '      - to: %s\n' "$(q "$email_to")"
    printf '        from: %s\n' "$(q "$smtp_from")"
    printf '        smarthost: %s\n' "$(q "$smtp_smarthost")"
    printf '        require_tls: %s\n' "$smtp_require_tls"
    if [ -n "$smtp_username" ]; then
        printf '        auth_username: %s\n' "$(q "$smtp_username")"
    fi
    if [ "$smtp_pw_kind" = file ]; then
        printf '        auth_password_file: %s\n' "$(q "$smtp_pw_value")"
    elif [ "$smtp_pw_kind" = value ]; then
        printf '        auth_password: %s\n' "$(q "$smtp_pw_value")"
    fi
    cat <<'EOF'
        send_resolved: true
        headers:
          Subject: '{{ template "supportpulse.title" . }}'
        text: '{{ template "supportpulse.text" . }}'
EOF
}

emit_webhook() { # URL
    printf '    webhook_configs:\n'
    printf '      - url: %s\n' "$(q "$1")"
    printf '        send_resolved: true\n'
}

# emit_chat CHANNEL: Slack and/or email; returns 1 when neither is configured.
emit_chat() {
    _any=1
    if [ -n "$slack_kind" ]; then
        emit_slack "$1"
        _any=0
    fi
    if [ -n "$email_to" ]; then
        emit_email
        _any=0
    fi
    return $_any
}

# finish_receiver HAS_INTEGRATION: the explicit webhook, or the default one for an empty receiver.
finish_receiver() {
    if [ -n "$webhook_url" ]; then
        emit_webhook "$webhook_url"
    elif [ "$1" = no ]; then
        emit_webhook "$default_webhook_url"
    fi
}

emit_receivers() {
    printf '  - name: pager\n'
    has=no
    if [ -n "$pd_kind" ]; then emit_pagerduty; has=yes; fi
    if [ -n "$og_kind" ]; then emit_opsgenie; has=yes; fi
    if [ "$has" = no ] && emit_chat "$slack_channel_platform"; then has=yes; fi
    finish_receiver "$has"

    printf '  - name: floor\n'
    has=no
    if emit_chat "$slack_channel_floor"; then has=yes; fi
    finish_receiver "$has"

    printf '  - name: platform\n'
    has=no
    if emit_chat "$slack_channel_platform"; then has=yes; fi
    finish_receiver "$has"
}

render() {
    [ -r "$template_file" ] || die "cannot read $template_file"
    printf '# GENERATED by deploy/alertmanager/render.sh from alertmanager.yml.tmpl: edit those, not this.\n'
    while IFS= read -r line || [ -n "$line" ]; do
        # Markers are not replaced inside comments (the template documents them).
        stripped=${line#"${line%%[! ]*}"}
        case $stripped in
            '#'*) printf '%s\n' "$line" ;;
            @@RECEIVERS@@) emit_receivers ;;
            *@@TEMPLATE_GLOB@@*)
                # Inside a single-quoted YAML scalar in the template: escape quotes only.
                printf '%s%s%s\n' "${line%%@@TEMPLATE_GLOB@@*}" \
                    "$(printf '%s' "$template_glob" | sed "s/'/''/g")" \
                    "${line#*@@TEMPLATE_GLOB@@}"
                ;;
            *) printf '%s\n' "$line" ;;
        esac
    done <"$template_file"
}

if [ $# -gt 1 ]; then
    die "usage: render.sh [OUTPUT]"
elif [ $# -eq 1 ]; then
    umask 077
    tmp="$1.tmp.$$"
    trap 'rm -f "$tmp"' EXIT
    render >"$tmp"
    mv -f "$tmp" "$1"
    trap - EXIT
else
    render
fi
