"""The glossary and the work aids: public pages, downloads that open in Word and Excel, and every
link a module makes into them leads somewhere."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import ContentRevision


def module_sources() -> list[str]:
    revisions = db.session.scalars(select(ContentRevision).where(ContentRevision.kind == "module"))
    latest: dict[str, ContentRevision] = {}
    for revision in revisions:
        if revision.key not in latest or revision.number > latest[revision.key].number:
            latest[revision.key] = revision
    return [r.source for r in latest.values()]


def test_every_glossary_link_of_a_module_has_its_entry_on_the_glossary_page(client):
    page = client.get("/glossar")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    anchors = {a for source in module_sources() for a in re.findall(r"\]\(/glossar#([^)\s]+)\)", source)}
    assert anchors, "the modules link the glossary"
    for anchor in anchors:
        assert f'id="{anchor}"' in html, anchor
    assert '<dfn>NKF</dfn>' in html and "Neues Kommunales Finanzmanagement" in html


def test_every_work_aid_a_module_links_is_served_as_page_word_and_excel(client):
    linked = {w for source in module_sources() for w in re.findall(r"\]\(/vorlagen/([a-z0-9-]+)\)", source)}
    assert len(linked) >= 6
    for workaid in linked:
        page = client.get(f"/vorlagen/{workaid}")
        assert page.status_code == 200, workaid
        assert "Herunterladen zum Ausfüllen" in page.get_data(as_text=True)
        word = client.get(f"/vorlagen/{workaid}.docx")
        assert word.status_code == 200 and word.data[:2] == b"PK", workaid
        assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(word.data)).namelist()
        excel = client.get(f"/vorlagen/{workaid}.xlsx")
        assert excel.status_code == 200, workaid
        sheets = re.findall(r'<sheet name="([^"]+)"',
                            zipfile.ZipFile(io.BytesIO(excel.data)).read("xl/workbook.xml").decode())
        assert sheets[0] == "Hinweise" and len(sheets) >= 2, (workaid, sheets)


def test_the_word_file_keeps_the_tables_to_fill_in(client):
    docx = pytest.importorskip("docx")
    document = docx.Document(io.BytesIO(client.get("/vorlagen/indikatorensteckbrief.docx").data))
    assert document.core_properties.title == "Indikatorensteckbrief"
    assert len(document.tables) >= 3
    assert document.tables[0].rows[0].cells[0].text == "Feld"


@pytest.mark.parametrize("url", ["/vorlagen/gibt-es-nicht", "/vorlagen/gibt-es-nicht.docx",
                                 "/vorlagen/indikatorensteckbrief.exe", "/vorlagen/indikatorensteckbrief.pdf"])
def test_unknown_work_aids_and_formats_are_not_found(client, url):
    assert client.get(url).status_code == 404


def test_a_module_page_lists_the_work_aids_it_uses(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    html = client.get("/modules/gk-nachhaltigkeitsbericht").get_data(as_text=True)
    assert 'href="/vorlagen/indikatorensteckbrief"' in html
