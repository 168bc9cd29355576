"""HTML -> PDF with WeasyPrint, imported here only and only when a PDF is made."""

from __future__ import annotations

from typing import Any

from courtsync.errors import CourtsyncError

PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
# "Page 1 of 2" at the foot of every page, for letters longer than a page. CSS cannot ask "is there more than
# one page?", so the document is laid out with this sheet, and again without it when it fits on one page (the
# number sits in the page margin, so both layouts break alike). Laying out twice only the one-page letters keeps
# a statewide run fast: a court letter listing hundreds of dates runs to twenty pages and more.
PAGE_NUMBERS = ('@page { @bottom-center { content: "Page " counter(page) " of " counter(pages); '
                'font-family: "DejaVu Serif", Georgia, serif; font-size: 9pt; color: #444; } }')


def _weasyprint() -> object:
    try:
        import weasyprint
    except OSError as exc:   # the Python package is there, the system libraries are not
        raise CourtsyncError(f"WeasyPrint cannot load its system libraries ({exc}).",
                             hint=f"Install them, e.g. on Debian: apt-get install -y {PACKAGES}") from None
    return weasyprint


def _document(html: str) -> Any:
    """The laid-out letter, numbered "Page N of M" when it has more than one page."""
    weasyprint: Any = _weasyprint()
    document = weasyprint.HTML(string=html).render(stylesheets=[weasyprint.CSS(string=PAGE_NUMBERS)])
    if len(document.pages) == 1:
        document = weasyprint.HTML(string=html).render()
    return document


def html_to_pdf(html: str) -> bytes:
    return bytes(_document(html).write_pdf())


def merged_pdf(pages: list[str]) -> bytes:
    """Several letters as one PDF, each starting on a new page and numbered on its own."""
    documents = [_document(html) for html in pages]
    if not documents:
        return b""
    all_pages = [page for doc in documents for page in doc.pages]
    return bytes(documents[0].copy(all_pages).write_pdf())


def many_pdfs(pages: list[str]) -> list[bytes]:
    """One PDF per HTML page, on every core when there are many (WeasyPrint is ~0.5 s a letter)."""
    import os

    cores = min(os.cpu_count() or 1, 4)
    if len(pages) < 4 or cores < 2:
        return [html_to_pdf(p) for p in pages]
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return [html_to_pdf(p) for p in pages]
    _weasyprint()  # load it once before forking: the workers inherit it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads (Python 3.12+)
        pool = ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("fork"))
    with pool:
        return list(pool.map(html_to_pdf, pages, chunksize=1))
