"""Parley mailer: composes the prospectus email, sends it through a transport port, tracks delivery.

Public API: `mailer.domain.composition` (compose a message), `mailer.domain.unsubscribe` (signed
opt-out tokens), `mailer.domain.sending` (transport port and its errors), `mailer.domain.delivery`
(status, retry policy), `mailer.adapters.smtp.SmtpTransport`, `mailer.adapters.dev_mailbox`
(local SMTP listener and mailbox).
"""
