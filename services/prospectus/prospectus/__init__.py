"""Parley prospectus: a personalised HTML -> PDF document per lead, versioned.

Public API: `prospectus.domain.models` (input/output), `prospectus.domain.ports` (renderer and
store ports), `prospectus.adapters.renderer.WeasyPrintRenderer`,
`prospectus.adapters.local_store.LocalDirectoryStore`.
"""
