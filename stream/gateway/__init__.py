"""Helpdesk webhooks → CONTRACT §1 events (CONTRACT §7): pure code, one module per product.

`signatures` checks a delivery over its raw bytes; `chatwoot`, `zendesk` and `zammad` each have
`translate(body, headers, connectors)` returning a list of §1 event dicts or a `Rejection`;
`connectors` reads the mapping file. Nothing here does I/O beyond reading that file.
"""
