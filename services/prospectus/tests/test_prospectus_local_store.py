import hashlib
import os
from uuid import uuid4

import pytest
from prospectus.adapters.local_store import LocalDirectoryStore
from prospectus.domain.models import RenderedProspectus
from prospectus.domain.ports import ProspectusNotFoundError


def rendered(tag: str) -> RenderedProspectus:
    return RenderedProspectus(html=f"<p>{tag} · é</p>", pdf=f"%PDF-1.7 {tag}".encode(), page_count=1)


async def test_versions_live_at_lead_and_version_paths(tmp_path):
    store, lead_id = LocalDirectoryStore(tmp_path), uuid4()
    stored = await store.save(lead_id, 1, rendered("one"))
    assert stored.pdf_location == str(tmp_path / str(lead_id) / "v1.pdf")
    assert stored.html_location == str(tmp_path / str(lead_id) / "v1.html")
    assert stored.pdf_bytes == len(b"%PDF-1.7 one")
    assert stored.pdf_sha256 == hashlib.sha256(b"%PDF-1.7 one").hexdigest()
    assert await store.read_pdf(lead_id, 1) == b"%PDF-1.7 one"
    assert await store.read_html(lead_id, 1) == "<p>one · é</p>"


async def test_versions_are_listed_in_numeric_order_per_lead(tmp_path):
    store, lead_id, other_lead = LocalDirectoryStore(tmp_path), uuid4(), uuid4()
    for version in (10, 2, 1):
        await store.save(lead_id, version, rendered(str(version)))
    await store.save(other_lead, 5, rendered("other"))
    assert await store.versions(lead_id) == [1, 2, 10]
    assert await store.versions(other_lead) == [5]
    assert await store.versions(uuid4()) == []


async def test_missing_versions_are_not_found(tmp_path):
    store, lead_id = LocalDirectoryStore(tmp_path), uuid4()
    await store.save(lead_id, 1, rendered("one"))
    with pytest.raises(ProspectusNotFoundError):
        await store.read_pdf(lead_id, 2)
    with pytest.raises(ProspectusNotFoundError):
        await store.read_html(uuid4(), 1)


async def test_a_version_without_its_pdf_is_invisible(tmp_path):
    """The HTML is written first: until the PDF lands, the version does not exist for readers."""
    store, lead_id = LocalDirectoryStore(tmp_path), uuid4()
    store.html_path(lead_id, 1).parent.mkdir(parents=True)
    store.html_path(lead_id, 1).write_text("<p>half</p>")
    assert await store.versions(lead_id) == []
    with pytest.raises(ProspectusNotFoundError):
        await store.read_html(lead_id, 1)


async def test_saving_a_version_again_replaces_it_whole(tmp_path):
    store, lead_id = LocalDirectoryStore(tmp_path), uuid4()
    await store.save(lead_id, 1, rendered("first try"))
    await store.save(lead_id, 1, rendered("retry"))
    assert await store.read_pdf(lead_id, 1) == b"%PDF-1.7 retry"
    assert sorted(p.name for p in (tmp_path / str(lead_id)).iterdir()) == ["v1.html", "v1.pdf"]


async def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    store, lead_id = LocalDirectoryStore(tmp_path), uuid4()
    await store.save(lead_id, 1, rendered("good"))

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await store.save(lead_id, 1, rendered("lost"))
    monkeypatch.undo()
    assert await store.read_pdf(lead_id, 1) == b"%PDF-1.7 good"
    assert sorted(p.name for p in (tmp_path / str(lead_id)).iterdir()) == ["v1.html", "v1.pdf"]


async def test_deleting_a_lead_removes_all_its_versions_only(tmp_path):
    store, lead_id, other_lead = LocalDirectoryStore(tmp_path), uuid4(), uuid4()
    await store.save(lead_id, 1, rendered("1"))
    await store.save(lead_id, 2, rendered("2"))
    await store.save(other_lead, 1, rendered("keep"))
    assert await store.delete_lead(lead_id) == 4
    assert await store.versions(lead_id) == []
    assert await store.read_pdf(other_lead, 1) == b"%PDF-1.7 keep"
    assert await store.delete_lead(lead_id) == 0


async def test_version_numbers_start_at_one(tmp_path):
    with pytest.raises(ValueError, match="start at 1"):
        await LocalDirectoryStore(tmp_path).save(uuid4(), 0, rendered("zero"))
