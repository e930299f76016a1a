"""One lxml parse of a page, shared by the microdata and RDFa readers.

Parsed exactly as extruct parses (``lxml.html.fromstring`` with ``HTMLParser(encoding="UTF-8")``)
so that both see the same tree. lxml's HTML parser never loads DTDs or external entities and
``no_network`` is on (its default); nothing is fetched.
"""

from __future__ import annotations

import lxml.etree
import lxml.html

_PARSER = lxml.html.HTMLParser(encoding="UTF-8", no_network=True)
_PARSER_BYTES = lxml.html.HTMLParser(encoding="utf-8", no_network=True)


class EmptyDocument(Exception):
    """The page has no elements at all."""


def parse(html: str) -> lxml.html.HtmlElement:
    """Parse a decoded page; raises EmptyDocument for a page without elements."""
    try:
        return lxml.html.fromstring(html, parser=_PARSER)
    except lxml.etree.ParserError as e:
        raise EmptyDocument(str(e)) from e
    except ValueError:
        # "Unicode strings with encoding declaration are not supported" (an XML prolog with an
        # encoding): extruct fails on such pages; parsing the UTF-8 bytes works.
        try:
            return lxml.html.fromstring(html.encode("utf-8", "surrogatepass"), parser=_PARSER_BYTES)
        except lxml.etree.ParserError as e:
            raise EmptyDocument(str(e)) from e
