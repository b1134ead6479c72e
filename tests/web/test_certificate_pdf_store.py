"""A certificate's PDF is built once per state and then served as stored bytes.

Revoking, replacing or a change of layout builds it anew; deleting the holder's account deletes
the stored PDF with their name; two downloads building it at once both succeed.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from namalms.certificates import pdf as pdf_module
from namalms.extensions import db
from namalms.models import Certificate, CertificatePdf
from namalms.services import certificates as service
from namalms.services import privacy
from tests.conftest import counted_statements
from tests.web.test_certificates import work_through

pytestmark = pytest.mark.both_databases  # an upsert and its concurrency differ between the databases


@pytest.fixture
def certificate(learner):
    work_through(learner, "grundlagenkurs")
    return db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id))


@pytest.fixture
def builds(monkeypatch):
    """Counts how often a PDF is actually built."""
    calls = []
    original = pdf_module.render_certificate_pdf

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pdf_module, "render_certificate_pdf", counting)
    return calls


def download(client, certificate) -> bytes:
    return fetch(client, certificate.number)


def fetch(client, number: str) -> bytes:
    response = client.get(f"/certificates/{number}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def test_the_second_download_serves_the_stored_pdf_without_building_or_write_lock(client, certificate, builds):
    first = download(client, certificate)
    assert first.startswith(b"%PDF") and len(builds) == 1
    number = certificate.number
    with counted_statements() as statements:
        second = fetch(client, number)
    assert second == first and len(builds) == 1
    assert not [s for s in statements if "IMMEDIATE" in s or s.lstrip().upper().startswith(("INSERT", "UPDATE"))], statements
    assert db.session.scalar(select(CertificatePdf.data).where(CertificatePdf.certificate_id == certificate.id)) == first


def test_revoking_builds_the_stamped_pdf_anew(client, certificate, builds):
    before = download(client, certificate)
    number = certificate.number
    service.revoke_certificate(certificate, category="error", reason="Falsche Angaben", actor_label="Test")
    db.session.commit()
    certificate = db.session.scalar(select(Certificate).where(Certificate.number == number))
    response = client.get(f"/certificates/{number}.pdf")
    assert response.status_code == 200 and response.data != before and len(builds) == 2
    assert "widerrufen" in response.headers["Content-Disposition"]
    assert download_again_is_stored(client, number, response.data, builds)


def download_again_is_stored(client, number, data, builds) -> bool:
    count = len(builds)
    again = client.get(f"/certificates/{number}.pdf").data
    return again == data and len(builds) == count


def test_a_changed_layout_makes_stored_pdfs_stale(client, certificate, builds, monkeypatch):
    download(client, certificate)
    monkeypatch.setattr(service, "_pdf_layout", lambda: "a new layout")
    download(client, certificate)
    assert len(builds) == 2


def test_deleting_the_account_deletes_the_stored_pdf(client, learner, certificate):
    download(client, certificate)
    certificate_id = certificate.id
    privacy.erase_account(learner, by="self")
    db.session.commit()
    assert db.session.get(CertificatePdf, certificate_id) is None
    assert db.session.get(Certificate, certificate_id) is not None, "the anonymous record stays"


def test_two_workers_storing_the_same_pdf_at_once_both_succeed(app, certificate):
    certificate_id, state = certificate.id, "x" * 64
    db.session.commit()
    errors, barrier = [], threading.Barrier(2)

    def store(data: bytes) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                service.keep_pdf(certificate_id, state, data)
                db.session.commit()
        except Exception as error:  # reported below with the test's failure
            errors.append(error)

    threads = [threading.Thread(target=store, args=(data,)) for data in (b"%PDF-a", b"%PDF-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.expire_all()
    rows = db.session.scalars(select(CertificatePdf).where(CertificatePdf.certificate_id == certificate_id)).all()
    assert len(rows) == 1 and rows[0].data in (b"%PDF-a", b"%PDF-b")
