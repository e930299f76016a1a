"""Messy, multilingual FAQ pages for end-to-end content tests: what real websites put in their
schema.org FAQPage markup (JSON-LD, microdata, RDFa) that a pipeline can silently lose, corrupt
or mislabel -- control characters, lone surrogates from JSON escapes, invisible and bidi
characters, NFC/NFD spellings, scripts without spaces, right-to-left scripts, HTML and entities
inside answers, very long answers, repeated questions, one QA on many websites, one website in
several languages.

Each page is ``(kind, url, html bytes, pairs)`` as :func:`tests.hostile_corpus.write_pages`
takes it, so ``write_pages(path, messy_pages())`` is a real WARC to run the product on.
"""

from __future__ import annotations

import html as _html
import json

__all__ = ["jsonld_page", "microdata_page", "rdfa_page", "messy_pages"]


def jsonld_page(pairs: list[tuple[str, str]], *, raw_json: str | None = None, lang: str = "en") -> bytes:
    """A page with one JSON-LD FAQPage block. ``raw_json`` replaces the block's text as given
    (to write escapes such as ``\\ud800`` that ``json.dumps`` of a str cannot produce)."""
    block = raw_json if raw_json is not None else json.dumps({
        "@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
            {"@type": "Question", "name": q, "acceptedAnswer": {"@type": "Answer", "text": a}}
            for q, a in pairs]})
    block = block.replace("</", "<\\/")  # as a site's JSON encoder must: "</script>" would end the block
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<script type='application/ld+json'>{block}</script></head>"
            f"<body><h1>FAQ</h1></body></html>").encode("utf-8", "surrogatepass")


# (the FAQPage wrapper, a Question, its name, its acceptedAnswer, the answer's text) per syntax
_ATTRIBUTES = {
    "microdata": ('itemscope itemtype="https://schema.org/FAQPage"',
                  'itemscope itemprop="mainEntity" itemtype="https://schema.org/Question"', 'itemprop="name"',
                  'itemscope itemprop="acceptedAnswer" itemtype="https://schema.org/Answer"', 'itemprop="text"'),
    "rdfa": ('vocab="https://schema.org/" typeof="FAQPage"', 'property="mainEntity" typeof="Question"',
             'property="name"', 'property="acceptedAnswer" typeof="Answer"', 'property="text"'),
}


def _attribute_page(syntax: str, pairs: list[tuple[str, str]], lang: str, escape: bool) -> bytes:
    """A FAQPage in attribute markup (microdata or RDFa): the two differ in attributes only."""
    faq, question, name, answer, text = _ATTRIBUTES[syntax]
    esc = _html.escape if escape else (lambda s: s)
    items = "".join(f'<div {question}><h3 {name}>{esc(q)}</h3><div {answer}><div {text}>{esc(a)}</div></div></div>'
                    for q, a in pairs)
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'></head><body>"
            f"<div {faq}>{items}</div></body></html>").encode("utf-8")


def microdata_page(pairs: list[tuple[str, str]], *, lang: str = "en", escape: bool = True) -> bytes:
    return _attribute_page("microdata", pairs, lang, escape)


def rdfa_page(pairs: list[tuple[str, str]], *, lang: str = "en", escape: bool = True) -> bytes:
    return _attribute_page("rdfa", pairs, lang, escape)


# A plain English answer long enough for every filter and for language ID.
_EN_ANSWER = ("Orders placed before noon are packed the same day and shipped with a tracked "
              "carrier, so most parcels arrive within two to three working days.")

# One website's FAQ in four languages (so alignment runs): (question, answer) per language.
MULTI = {
    "en": [("How long does delivery take to my country?",
            "Delivery usually takes between three and five working days after the order is confirmed."),
           ("Can I return an item that I do not like?",
            "You can return any unused item within thirty days and we refund the full price."),
           ("Which payment methods do you accept?",
            "We accept credit cards, bank transfers and payment on invoice for registered customers.")],
    "de": [("Wie lange dauert die Lieferung in mein Land?",
            "Die Lieferung dauert in der Regel drei bis fünf Werktage nach der Bestätigung der Bestellung."),
           ("Kann ich einen Artikel zurückgeben, der mir nicht gefällt?",
            "Sie können jeden unbenutzten Artikel innerhalb von dreißig Tagen zurückgeben und wir erstatten den vollen Preis."),
           ("Welche Zahlungsarten akzeptieren Sie?",
            "Wir akzeptieren Kreditkarten, Banküberweisungen und Zahlung auf Rechnung für registrierte Kunden.")],
    "fr": [("Combien de temps prend la livraison dans mon pays ?",
            "La livraison prend généralement entre trois et cinq jours ouvrables après la confirmation de la commande."),
           ("Puis-je retourner un article qui ne me plaît pas ?",
            "Vous pouvez retourner tout article non utilisé dans un délai de trente jours et nous remboursons le prix total."),
           ("Quels moyens de paiement acceptez-vous ?",
            "Nous acceptons les cartes de crédit, les virements bancaires et le paiement sur facture pour les clients enregistrés.")],
    "es": [("¿Cuánto tarda la entrega a mi país?",
            "La entrega suele tardar entre tres y cinco días hábiles después de confirmar el pedido."),
           ("¿Puedo devolver un artículo que no me gusta?",
            "Puede devolver cualquier artículo sin usar en un plazo de treinta días y le reembolsamos el precio completo."),
           ("¿Qué métodos de pago aceptan?",
            "Aceptamos tarjetas de crédito, transferencias bancarias y pago contra factura para clientes registrados.")],
}


# Alemannic (Swiss German): fastText lid.176 labels it ``als`` (its Wikipedia code) with
# probability 0.86; ISO 639-3 ``als`` is Tosk Albanian, Alemannic is ``gsw``.
ALEMANNIC = ("Wie isch d Stadt Basel und wo lit si genau?",
             "D Stadt Basel isch e Stadt in dr Schwiiz. Si lit am Rhii und isch d Hauptstadt vom "
             "Kanton Basel-Stadt. Basel het öbbe 170000 Iiwohner.")


def messy_pages() -> list[tuple[str, str, bytes, list]]:
    pages: list[tuple[str, str, bytes, list]] = []

    def add(kind: str, url: str, html: bytes, pairs: list) -> None:
        pages.append((kind, url, html, pairs))

    # --- control and invisible characters, from JSON escapes (json.loads makes them real)
    raw = json.dumps({"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
        {"@type": "Question", "name": "How do I track my parcel LONE_SURROGATE after ordering?",
         "acceptedAnswer": {"@type": "Answer", "text": "Use the tracking link in your confirmation e-mail; LONE_SURROGATE "
                            "it shows where the parcel is at every step of the delivery."}}]})
    add("lone_surrogate", "https://controls.example/faq/surrogate",
        jsonld_page([], raw_json=raw.replace("LONE_SURROGATE", "\\ud800")), [])
    controls = [
        ("What does the NUL\u0000 character do in a question here?",
         "It is a control character\u0000 that some content systems leave inside their exported text."),
        ("Why is there an escape \u001b[31m code in this question?",
         "Terminal colour codes \u001b[0m sometimes end up in text that was copied from a console window."),
        ("What is a C1 control\u0085 next line character for?",
         "The next line character\u0085 comes from old mainframe encodings and the byte \u009b is another one."),
        ("How do zero\u200bwidth spaces and join\u200ders behave?",
         "Zero width characters\u200c are invisible\u2060 but change how words are split and joined by software."),
        ("Where does a byte order mark \ufeff inside the text come from?",
         "A byte order mark\ufeff in the middle of a sentence comes from concatenating files saved by different editors."),
        ("Can bidi overrides \u202ereverse\u202c the display of text?",
         "Right to left override characters \u2066isolate\u2069 and reorder text, which is used to disguise file names."),
    ]
    add("controls", "https://controls.example/faq/controls", jsonld_page(controls), controls)

    # --- NFC vs NFD spellings of one QA on two websites (the method does no normalisation)
    nfc = ("Is the café open on Sundays and public holidays?",
           "The café is open every day from eight in the morning until six in the evening, holidays included.")
    import unicodedata
    nfd = tuple(unicodedata.normalize("NFD", t) for t in nfc)
    add("nfc", "https://cafe-one.example/faq", jsonld_page([nfc]), [nfc])
    add("nfd", "https://cafe-two.example/faq", jsonld_page([nfd]), [nfd])

    # --- full-width forms, emoji, astral characters, combining marks
    wide = [("Ｗｈａｔ ｉｓ ｔｈｅ ｆｕｌｌ－ｗｉｄｔｈ ｆｏｒｍ ｏｆ ａ ｌｅｔｔｅｒ？",
             "Full-width letters come from East Asian input methods and take the width of one ideograph in the text."),
            ("Do you ship mathematical 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 letters and 𠀀 characters? 🚚📦",
             "Characters outside the basic plane such as 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 letters and 𠀀 are stored as four bytes in UTF-8 👍."),
            ("How are combining marks like e\u0301 and Z\u0351\u0352\u0353a\u0354l\u0355g\u0356o handled?",
             "Combining marks stack on the previous letter, and Z\u0351\u0352\u0353a\u0354l\u0355g\u0356o text piles many of them.")]
    add("wide_emoji", "https://unicode.example/faq", jsonld_page(wide), wide)

    # --- HTML inside answers: tags, double-encoded entities, script and style
    htmlish = [("How do I format bold text in the editor?",
                "Select the words and press the <b>B</b> button, or wrap them in <strong>two asterisks</strong> yourself."),
               ("How do I write a less-than sign in a post?",
                "Type &amp;lt; in the source view, which the editor shows as a less-than sign after saving the post."),
               ("Why does the answer contain a script block?",
                "Some editors paste widgets.<script>alert('owned')</script> The text around it is still the real answer here."),
               ("Why does the answer contain a style block?",
                "Styling is sometimes pasted inline.<style>body{color:red}</style> The answer text itself stays readable for users.")]
    add("html_in_answers", "https://html.example/faq", jsonld_page(htmlish), htmlish)
    add("html_in_answers_microdata", "https://html-md.example/faq",
        microdata_page(htmlish[:2], escape=False), htmlish[:2])

    # --- a very long answer (100,000 characters, one line)
    long_answer = ("Our warranty covers manufacturing defects for the whole lifetime of the product. " * 1300)[:100_000]
    add("long_answer", "https://long.example/faq", jsonld_page([("What does the lifetime warranty cover exactly?",
                                                                  long_answer)]), [])

    # --- one question repeated on one page with different answers
    repeated = [("How can I contact customer service?", "Call our hotline on weekdays between nine and five, we answer within minutes."),
                ("How can I contact customer service?", "Write to our support address and we reply within one working day to every message.")]
    add("repeated_question", "https://repeat.example/faq", jsonld_page(repeated), repeated)

    # --- one QA on many websites (exact duplicates)
    same = ("How are orders shipped to customers abroad?", _EN_ANSWER)
    for i in range(5):
        add("same_qa", f"https://shop{i}.example/faq", jsonld_page([same]), [same])

    # --- scripts without spaces: near duplicates (one character changed) and distinct QAs
    zh = ("我们的退货政策是什么？如何申请退款？",
          "您可以在收到商品后的三十天内申请退货，我们会在收到退回的商品后七个工作日内将全部款项退还到您的原支付账户。")
    zh_near = (zh[0], zh[1].replace("七个", "八个"))
    zh_other = ("你们的商店在周末营业吗？营业时间是几点？",
                "我们的实体商店在周六和周日正常营业，营业时间为上午十点至晚上九点，节假日期间的营业时间会在官网另行通知。")
    zh_hant = ("我們的退貨政策是什麼？如何申請退款？",
               "您可以在收到商品後的三十天內申請退貨，我們會在收到退回的商品後七個工作日內將全部款項退還到您的原支付帳戶。")
    ja = ("注文をキャンセルすることはできますか。",
          "ご注文の発送準備が始まる前であれば、マイページの注文履歴から無料でキャンセルすることができます。")
    ja_near = (ja[0], ja[1].replace("無料で", "無料にて"))
    th = ("ฉันสามารถยกเลิกคำสั่งซื้อได้หรือไม่",
          "คุณสามารถยกเลิกคำสั่งซื้อได้ฟรีก่อนที่สินค้าจะถูกจัดส่ง โดยไปที่หน้าประวัติการสั่งซื้อในบัญชีของคุณ")
    th_near = (th[0], th[1].replace("ฟรี", "ฟรีทันที"))
    add("zho", "https://cjk-a.example/zh/faq", jsonld_page([zh, zh_other], lang="zh"), [zh, zh_other])
    add("zho_near", "https://cjk-b.example/zh/faq", jsonld_page([zh_near], lang="zh"), [zh_near])
    add("zho_hant", "https://cjk-c.example/zh-tw/faq", jsonld_page([zh_hant], lang="zh-TW"), [zh_hant])
    add("jpn", "https://cjk-a.example/ja/faq", microdata_page([ja], lang="ja"), [ja])
    add("jpn_near", "https://cjk-b.example/ja/faq", microdata_page([ja_near], lang="ja"), [ja_near])
    add("tha", "https://cjk-a.example/th/faq", rdfa_page([th], lang="th"), [th])
    add("tha_near", "https://cjk-b.example/th/faq", rdfa_page([th_near], lang="th"), [th_near])

    # --- right-to-left scripts
    ar = ("كيف يمكنني تتبع طلبي بعد الشراء؟",
          "يمكنك تتبع طلبك من خلال الرابط الموجود في رسالة التأكيد التي أرسلناها إلى بريدك الإلكتروني بعد الشراء.")
    he = ("איך אפשר לעקוב אחרי ההזמנה שלי?",
          "אפשר לעקוב אחרי ההזמנה דרך הקישור שנמצא בהודעת האישור ששלחנו לתיבת הדואר האלקטרוני שלך.")
    add("rtl", "https://rtl.example/faq", microdata_page([ar, he], lang="ar"), [ar, he])

    # --- labels that map oddly to ISO 639-3: Norwegian (nb/nn/no), Serbo-Croatian, Alemannic
    no = ("Hvor lang tid tar det før pakken min kommer frem?",
          "Pakken kommer vanligvis frem innen tre til fem virkedager etter at bestillingen er bekreftet av oss.")
    sh = ("Koliko dugo traje dostava paketa do moje kuće?",
          "Dostava paketa obično traje od tri do pet radnih dana nakon što potvrdimo vašu narudžbu putem e-pošte.")
    als = ("Wie lang goht s, bis mis Päckli dohei aachunnt?",
           "Normalerwiis chunnt s Päckli innerhalb vo drüü bis föif Wärchtäg aa, nochdem mir d Bstellig bstätigt händ.")
    add("odd_labels", "https://labels.example/faq", jsonld_page([no, sh, als]), [no, sh, als])
    add("alemannic", "https://alemannic.example/faq", jsonld_page([ALEMANNIC]), [ALEMANNIC])

    # --- texts the method's decoration stripping empties (filters run before it, as the method)
    emptied = [("\U0001F69A" * 12, "Orders are packed the same day and shipped with a tracked carrier to you."),
               ("Which emoji do you use for a delivered parcel?", "\U0001F4E6" * 31),
               ("\u200b" * 12, "An invisible question is still a question for the filters of the method.")]
    add("emptied", "https://emptied.example/faq", jsonld_page(emptied), emptied)

    # --- one website in four languages (alignment), in all three syntaxes
    makers = {"en": jsonld_page, "de": microdata_page, "fr": rdfa_page, "es": jsonld_page}
    for lang, pairs in MULTI.items():
        add(f"multi_{lang}", f"https://multi.example/{lang}/faq", makers[lang](pairs, lang=lang), pairs)

    # --- content that could become markup or a path: a hostile host name and path in the URL
    add("hostile_url", "https://xn--evil-script.example/faq/%3Cscript%3Ealert(1)%3C%2Fscript%3E/../../etc",
        jsonld_page([("Is <script>alert(1)</script> a valid question for your shop?",
                      "No, but the report must show this text as text: <img src=x onerror=alert(2)> and nothing runs.")]), [])
    add("hostile_host", 'https://evil"><img src=x onerror=alert(3)>.example/faq',
        jsonld_page([("How do I write a script tag in a forum post without running it?",
                      "Type &amp;lt;script&amp;gt;alert(4)&amp;lt;/script&amp;gt; and the forum shows the tag as plain text.")]), [])
    return pages


# --- pages whose declared charset is a label browsers read as a wider encoding (WHATWG Encoding
# Standard): (kind, content type, page bytes, the question a browser shows). Every page's text
# holds characters only the wider encoding has.
def _charset_page(question: str, answer: str, charset: str, encoding: str, *, meta: bool, bom: bytes = b"") -> bytes:
    head = f"<meta charset='{charset}'>" if meta else ""
    return bom + microdata_page([(question, answer)]).replace(
        b"<meta charset='utf-8'>", head.encode("ascii")).decode("utf-8").encode(encoding)


def charset_pages() -> list[tuple[str, str, bytes, str]]:
    fr_q = "Qu’est-ce que le « forfait Sérénité » coûte en €uros par mois ?"
    fr_a = "Le forfait “Sérénité” coûte 9 € par mois – sans engagement, résiliable à tout moment."
    zh_q = "朱镕基总理的讲话在哪里可以找到？"
    zh_a = "您可以在我们网站的新闻栏目中找到朱镕基总理讲话的全文以及相关的新闻报道和图片资料。"
    ja_q = "会員登録の手順①と手順②の違いは何ですか。"
    ja_a = "手順①ではメールアドレスを登録し、手順②ではお支払い方法を登録していただきます。"
    ko_q = "똠방각하 배송은 얼마나 걸리나요?"
    ko_a = "똠방각하 상품의 배송은 주문 확인 후 보통 삼 일에서 오 일 정도 걸립니다. 감사합니다."
    de_q = "Wie lange dauert der Versand nach Österreich und in die Schweiz?"
    de_a = "Der Versand dauert in der Regel zwei bis drei Werktage – auch in die Schweiz und nach Österreich."
    return [
        ("latin1_header_cp1252_bytes", "text/html; charset=iso-8859-1",
         _charset_page(fr_q, fr_a, "iso-8859-1", "cp1252", meta=False), fr_q),
        ("ascii_meta_cp1252_bytes", "text/html",
         _charset_page(fr_q.replace("Qu’", "Que"), fr_a, "us-ascii", "cp1252", meta=True), fr_q.replace("Qu’", "Que")),
        ("gb2312_meta_gbk_bytes", "text/html", _charset_page(zh_q, zh_a, "gb2312", "gbk", meta=True), zh_q),
        ("shift_jis_header_cp932_bytes", "text/html; charset=Shift_JIS",
         _charset_page(ja_q, ja_a, "Shift_JIS", "cp932", meta=False), ja_q),
        ("euc_kr_meta_cp949_bytes", "text/html", _charset_page(ko_q, ko_a, "euc-kr", "cp949", meta=True), ko_q),
        ("utf8_bom_with_latin1_header", "text/html; charset=iso-8859-1",
         _charset_page(de_q, de_a, "iso-8859-1", "utf-8", meta=False, bom=b"\xef\xbb\xbf"), de_q),
    ]


# --- JSON-LD blocks as CMSs and templates write them, which strict JSON (and extruct's comment
# fallback) refuses: (kind, block text, its question).
def jsonld_wrapped_blocks() -> list[tuple[str, str, str]]:
    answer = "Delivery usually takes between three and five working days after the order is confirmed."

    def block(kind: str) -> tuple[str, str]:
        q = f"How long does delivery take with the {kind.replace('_', ' ')} option?"
        return q, json.dumps({"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
            {"@type": "Question", "name": q, "acceptedAnswer": {"@type": "Answer", "text": answer}}]})

    out = []
    for kind, wrap in [
        ("byte_order_mark", lambda b: "\ufeff" + b),                        # an included file saved with a BOM
        ("cdata_line_comments", lambda b: "//<![CDATA[\n" + b + "\n//]]>"),  # XHTML-era templates
        ("bare_cdata", lambda b: "<![CDATA[" + b + "]]>"),
        ("html_comment", lambda b: "<!--\n" + b + "\n-->"),
        ("trailing_semicolon", lambda b: b + ";"),                          # JavaScript habits
        ("php_escaped_quote", lambda b: b.replace("usually", "usually (it\\'s fast)")),  # PHP addslashes
    ]:
        q, b = block(kind)
        out.append((kind, wrap(b), q))
    q1, b1 = block("first_of_two_objects")
    q2, b2 = block("second_of_two_objects")
    out.append(("two_objects", b1 + "\n" + b2, q1))  # two items in one block, one after the other
    out.append(("two_objects_second", "", q2))
    return out


def write_messy_warc(path) -> int:
    """One per-record-gzip WARC of every page above: :func:`messy_pages`, the
    :func:`jsonld_wrapped_blocks` and the :func:`charset_pages` (with their own Content-Type).
    Returns the number of pages."""
    from hostile_corpus import write_pages

    def url(kind: str) -> str:
        return f"https://{kind.replace('_', '-')}.example/faq"

    charset = charset_pages()
    pages = list(messy_pages())
    pages += [(kind, url(kind), jsonld_page([], raw_json=text), []) for kind, text, _ in jsonld_wrapped_blocks() if text]
    pages += [(kind, url(kind), payload, []) for kind, _, payload, _ in charset]
    types = {url(kind): content_type for kind, content_type, _, _ in charset}
    return write_pages(path, pages, content_types=types).pages


def bogus_charset_pages() -> list[tuple[str, str, bytes, str]]:
    """UTF-8 pages that declare a charset no browser decodes with (the Encoding Standard lists
    no such label, so browsers ignore it): Python codec names that are byte transforms
    (base64, rot13, zlib), always fail (undefined, idna), or would rewrite the page (utf-7 turns
    ``+ADw-`` into ``<``, EBCDIC cp037, unicode_escape). As :func:`charset_pages`."""
    out = []
    for charset in ("base64", "rot13", "zlib", "undefined", "idna", "utf-7", "cp037", "unicode_escape", "utf-32"):
        kind = "declared_" + charset.replace("-", "_")
        q = f"Why does this page declare the charset {charset} at all?"
        a = "Its template was copied from an old site; the page itself is UTF-8, café +ADw-b+AD4- included."
        out.append((kind, "text/html", _charset_page(q, a, charset, "utf-8", meta=True), q))
    return out


def utf16_pages() -> list[tuple[str, str, bytes, str]]:
    """Pages in UTF-16 without a byte order mark (and so without a readable ``<meta>``), in JSON-LD
    and microdata, little and big endian. As :func:`charset_pages`."""
    out = []
    for syntax, make in (("jsonld", jsonld_page), ("microdata", microdata_page)):
        for codec in ("utf-16-le", "utf-16-be"):
            kind = f"{syntax}_{codec.replace('-', '_')}"
            q = f"How long does delivery take for the {syntax} page in {codec}?"
            a = "Delivery usually takes between three and five working days after the order is confirmed."
            html = make([(q, a)]).decode("utf-8").replace("<meta charset='utf-8'>", "")
            out.append((kind, "text/html", html.encode(codec), q))
    return out


# A German answer and the same answer with soft hyphens (&shy;, U+00AD), as CMSs insert them as
# hyphenation hints: one text on screen.
SOFT_HYPHEN_ANSWER = ("Der Versand dauert in der Regel zwei bis drei Werktage, auch in die Schweiz und "
                      "nach Österreich, sofern die Bestellung vor zwölf Uhr eingeht.")
SOFT_HYPHENATED = (SOFT_HYPHEN_ANSWER.replace("Versand", "Ver\u00adsand").replace("Bestellung", "Be\u00adstel\u00adlung")
                   .replace("Werktage", "Werk\u00adtage"))
