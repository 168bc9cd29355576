"""[agency] as the head of a letter or a certificate: its name, unit, address, phone and logo."""

from __future__ import annotations

import base64

from courtsync.config.schema import Config
from courtsync.errors import ConfigError, Located
from courtsync.notices.letters import Letterhead

# What a letterhead logo may be: WeasyPrint and every mail program show these; an SVG could carry script.
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
              b"GIF89a": "image/gif"}
MAX_LOGO_BYTES = 2_000_000


def letterhead(config: Config) -> Letterhead | None:
    """[agency] as the head of a letter; its logo read once and carried inside the letter as a data: URI."""
    agency = config.agency
    if agency is None:
        return None
    logo = None
    if agency.logo:
        path = config.resolve(agency.logo)
        where = config.locate("agency", "logo")
        hint = "Point logo at a PNG, JPEG or GIF file, relative to courtsync.toml, or remove the key."
        try:
            with path.open("rb") as f:
                data = f.read(MAX_LOGO_BYTES + 1)
        except OSError as exc:
            raise ConfigError("The agency's logo cannot be read:", hint=hint,
                              problems=[Located(f"cannot read {path}: {exc.strerror or exc}", *where)]) from None
        kind = next((t for magic, t in LOGO_TYPES.items() if data.startswith(magic)), None)
        problem = (f"{path} is not a PNG, JPEG or GIF image" if kind is None else
                   f"{path} is larger than {MAX_LOGO_BYTES // 1_000_000} MB" if len(data) > MAX_LOGO_BYTES else None)
        if problem:
            raise ConfigError("The agency's logo cannot be used:", problems=[Located(problem, *where)], hint=hint)
        logo = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return Letterhead(name=agency.name, unit=agency.unit, address=tuple(agency.address), phone=agency.phone,
                      logo=logo)
