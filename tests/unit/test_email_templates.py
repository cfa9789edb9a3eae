"""E-mail rules without I/O: formats, variables, the default templates, the sandbox, the SMTP
URL and message, the retry schedule."""

from __future__ import annotations

import re
import threading
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from assina.config import Settings
from assina.core.documents import format_document
from assina.core.smtp_target import SmtpTarget, parse_smtp_url
from assina.notifications.budget import LIMITS, Limits, render_off_loop
from assina.notifications.defaults import default_sources
from assina.notifications.formatting import (
    format_date,
    format_money,
    format_recurrence,
)
from assina.notifications.models import EmailKind, Locale
from assina.notifications.sender import EMAIL_RETRIES, RETRY_SCHEDULE, describe_error
from assina.notifications.smtp import Outgoing, build_message
from assina.notifications.templates import (
    MAX_OUTPUT,
    Part,
    Sources,
    TemplateFailure,
    render_email,
    render_part,
    template_failures,
)
from assina.notifications.variables import (
    Setting,
    build_variables,
    documented,
    sample_objects,
    sample_variables,
    sparse_variables,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PT = Setting(Locale.PT_BR, "America/Sao_Paulo", "Escola Alfa")
EN = Setting(Locale.EN, "America/Sao_Paulo", "Escola Alfa")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "emails.md"

# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "written"),
    [
        (123456, "BRL", Locale.PT_BR, "R$ 1.234,56"),
        (123456, "BRL", Locale.EN, "R$1,234.56"),
        (0, "BRL", Locale.PT_BR, "R$ 0,00"),
        (5, "BRL", Locale.PT_BR, "R$ 0,05"),
        (-150, "BRL", Locale.PT_BR, "-R$ 1,50"),
        (100_000_000, "BRL", Locale.PT_BR, "R$ 1.000.000,00"),
        (100_000_000, "BRL", Locale.EN, "R$1,000,000.00"),
        (1999, "USD", Locale.PT_BR, "US$ 19,99"),
        (1999, "EUR", Locale.EN, "€19.99"),
        (1234, "JPY", Locale.PT_BR, "JPY 1.234"),
        (1234, "CLP", Locale.EN, "CLP 1,234"),
    ],
)
def test_money_reads_as_people_write_it(
    amount: int, currency: str, locale: Locale, written: str
) -> None:
    assert format_money(amount, currency, locale) == written


@given(st.integers(-(10**15), 10**15), st.sampled_from(list(Locale)))
def test_money_keeps_every_centavo(amount: int, locale: Locale) -> None:
    written = format_money(amount, "BRL", locale)
    assert int(re.sub(r"[^0-9]", "", written)) == abs(amount)
    assert written.startswith("-") == (amount < 0)
    decimal = "," if locale == Locale.PT_BR else "."
    assert written[-3] == decimal


def test_dates_documents_and_recurrences() -> None:
    assert format_date(date(2026, 3, 5), Locale.PT_BR) == "05/03/2026"
    assert format_date(date(2026, 3, 5), Locale.EN) == "March 5, 2026"
    assert format_document("52998224725") == "529.982.247-25"
    assert format_document("11222333000181") == "11.222.333/0001-81"
    assert format_document(None) is None
    assert format_recurrence("month", 1, Locale.PT_BR) == "por mês"
    assert format_recurrence("month", 3, Locale.PT_BR) == "a cada 3 meses"
    assert format_recurrence("year", 1, Locale.EN) == "per year"
    assert format_recurrence("week", 2, Locale.EN) == "every 2 weeks"


# --- variables --------------------------------------------------------------------------------


def test_variables_follow_the_kind() -> None:
    reminder = sample_variables(EmailKind.REMINDER, PT, NOW)
    assert set(reminder) == {"company", "customer", "today", "charge", "days_until_due"}
    assert reminder["days_until_due"] == 3
    assert reminder["customer"]["document"] == "529.982.247-25"
    assert reminder["charge"]["amount"] == "R$ 1.314,56"
    assert reminder["charge"]["lines"][1] == {
        "description": "Material didático",
        "quantity": 2,
        "amount": "R$ 57,33",
        "total": "R$ 114,66",
    }
    trial = sample_variables(EmailKind.TRIAL_ENDING, EN, NOW)
    assert set(trial) == {"company", "customer", "today", "contract", "first_charge", "days_left"}
    assert trial["contract"]["amount"] == "R$99.90"
    assert trial["contract"]["recurrence"] == "per month"
    # The sample trial's first paid period is charged already: due on trial_end.
    assert trial["first_charge"] == {
        "number": 1235,
        "amount": "R$99.90",
        "due_date": trial["contract"]["trial_end"],
    }
    # Only trial_ending has it: another contract kind's template may not name it.
    assert "first_charge" not in sample_variables(EmailKind.SUSPENSION, EN, NOW)


def test_first_charge_is_empty_when_none_was_issued() -> None:
    customer, _, contract = sample_objects(EmailKind.TRIAL_ENDING, NOW, date(2026, 1, 14))
    assert contract is not None
    variables = build_variables(EmailKind.TRIAL_ENDING, PT, NOW, customer, None, contract)
    assert variables["first_charge"] == {"number": "", "amount": "", "due_date": ""}
    sparse = sparse_variables(EmailKind.TRIAL_ENDING, PT, NOW)
    assert sparse["first_charge"] == {"number": "", "amount": "", "due_date": ""}


@pytest.mark.parametrize(
    ("setting", "sentence"),
    [
        (
            PT,
            "A primeira cobrança, nº 1235, no valor de R$ 99,90, já foi emitida e vence em "
            "18/01/2026.",
        ),
        (
            EN,
            "The first charge, no. 1235, of R$99.90, has already been issued and is due on "
            "January 18, 2026.",
        ),
    ],
)
def test_the_trial_ending_default_tells_the_first_charge_only_when_issued(
    setting: Setting, sentence: str
) -> None:
    sources = default_sources(EmailKind.TRIAL_ENDING, setting.locale)
    told = render_email(
        sources, EmailKind.TRIAL_ENDING, sample_variables(EmailKind.TRIAL_ENDING, setting, NOW)
    )
    assert sentence in told.text
    assert sentence in " ".join(told.html.split())
    untold = render_email(
        sources, EmailKind.TRIAL_ENDING, sparse_variables(EmailKind.TRIAL_ENDING, setting, NOW)
    )
    assert "1235" not in untold.text
    assert "1235" not in untold.html


def test_today_is_the_tenants_today() -> None:
    """01:00 UTC is still the evening before in São Paulo."""
    customer, charge, _ = sample_objects(EmailKind.OVERDUE, NOW, date(2026, 1, 14))
    assert charge is not None
    charge.due_date = date(2026, 1, 10)
    early = datetime(2026, 1, 15, 1, 0, tzinfo=UTC)
    variables = build_variables(EmailKind.OVERDUE, PT, early, customer, charge, None)
    assert variables["today"] == "14/01/2026"
    assert variables["days_overdue"] == 4


def test_extra_sets_the_kinds_numbers_only() -> None:
    customer, charge, contract = sample_objects(EmailKind.OVERDUE, NOW, NOW.date())
    given_days = build_variables(
        EmailKind.OVERDUE, PT, NOW, customer, charge, None, {"days_overdue": 30}
    )
    assert given_days["days_overdue"] == 30
    with pytest.raises(ValueError, match="unknown extra"):
        build_variables(EmailKind.OVERDUE, PT, NOW, customer, charge, None, {"days_left": 1})
    with pytest.raises(ValueError, match="needs a charge"):
        build_variables(EmailKind.RECEIPT, PT, NOW, customer, None, contract)
    with pytest.raises(ValueError, match="needs a contract"):
        build_variables(EmailKind.SUSPENSION, PT, NOW, customer, charge, None)


def test_docs_list_every_variable() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for kind in EmailKind:
        assert f"`{kind.value}`" in docs, kind
        for name, _ in documented(kind):
            assert f"`{name}`" in docs, name


# --- the defaults -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EmailKind))
@pytest.mark.parametrize("setting", [PT, EN], ids=["pt-BR", "en"])
def test_every_default_renders(kind: EmailKind, setting: Setting) -> None:
    sources = default_sources(kind, setting.locale)
    samples = [sample_variables(kind, setting, NOW), sparse_variables(kind, setting, NOW)]
    assert template_failures(sources, kind, samples) == []
    rendered = render_email(sources, kind, samples[0])
    assert "\n" not in rendered.subject
    assert "{{" not in rendered.subject + rendered.text + rendered.html
    assert "Maria da Conceição Souza" in rendered.text
    assert f'<html lang="{setting.locale.value}">' in rendered.html
    assert "Escola Alfa" in rendered.text
    assert "\n\n\n" not in rendered.text
    if setting.locale == Locale.PT_BR:
        assert "Olá, Maria da Conceição Souza!" in rendered.text
        assert "Atenciosamente" in rendered.text
        assert re.search("[áâãçéêíóôõú]", rendered.subject + rendered.text)
    else:
        assert rendered.text.startswith("Hello Maria da Conceição Souza,")
        assert "Olá" not in rendered.text


def test_defaults_read_naturally() -> None:
    reminder = render_email(
        default_sources(EmailKind.REMINDER, Locale.PT_BR),
        EmailKind.REMINDER,
        sample_variables(EmailKind.REMINDER, PT, NOW),
    )
    assert reminder.subject == "Lembrete: a cobrança nº 1234 vence em 18/01/2026"
    assert "vence em 3 dias (18/01/2026)" in reminder.text
    sparse = render_email(
        default_sources(EmailKind.REMINDER, Locale.PT_BR),
        EmailKind.REMINDER,
        sparse_variables(EmailKind.REMINDER, PT, NOW),
    )
    assert "vence hoje (15/01/2026)" in sparse.text
    assert "PIX" not in sparse.text and "Referente a" not in sparse.text
    overdue = render_email(
        default_sources(EmailKind.OVERDUE, Locale.PT_BR),
        EmailKind.OVERDUE,
        sample_variables(EmailKind.OVERDUE, PT, NOW),
    )
    assert "(5 dias em atraso)" in overdue.text


# --- the sandbox ------------------------------------------------------------------------------

REFUSED = [
    ("{{ customer.name ", "line 1"),
    ("{{ cliente }}", "'cliente' is not a variable"),
    ("{{ customer.nome }}", "customer has no 'nome'"),
    ("{{ customer['nome'] }}", "customer has no 'nome'"),
    ("{{ customer.name.__class__.__mro__ }}", "unsafe"),
    ("{{ customer.name.format(1) }}", "only these methods"),
    ("{{ '{0:>999999999}'.format(1) }}", "only these methods"),
    ("{{ customer.name.ljust(999999999) }}", "only these methods"),
    ("{{ 'x' * 999999999 }}", "at most 1000"),
    ("{{ [1] * 999999999 }}", "at most 1000"),
    ("{{ 99 ** 99999 }}", "too large"),
    ("{{ '%999999999d' % 1 }}", "% on text"),
    ("{{ customer.name|replace('', 'x' * 999)|replace('x', 'x' * 999) }}", "too long"),
    ("{{ range(10) }}", "only these methods"),
    ("{{ lipsum(99) }}", "only these methods"),
    ("{{ self }}", "'self' is not available"),
    ("{% set x = 1 %}", "Assign"),
    ("{% macro m() %}{% endmacro %}", "Macro"),
    ("{% include 'x' %}", "Include"),
    ("{% import 'x' as y %}", "Import"),
    ("{% extends 'x' %}", "Extends"),
    ("{% block b %}{% endblock %}", "Block"),
    ("{% for l in charge.lines %}{% for m in charge.lines %}{% endfor %}{% endfor %}", "inside"),
    ("{% for c in 'abc' %}{% endfor %}", "only go over a variable"),
    ("{{ customer.name|center(99) }}", "No filter named 'center'"),
    ("{{ customer.name|safe }}", "No filter named 'safe'"),
    ("{{ 1 // 0 }}", "ZeroDivisionError"),
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
]


@pytest.mark.parametrize(("source", "reason"), REFUSED)
def test_the_sandbox_refuses(source: str, reason: str) -> None:
    variables = sample_variables(EmailKind.REMINDER, PT, NOW)
    with pytest.raises(TemplateFailure) as raised:
        render_part(source, Part.TEXT, EmailKind.REMINDER, variables)
    assert raised.value.part == Part.TEXT
    assert reason in raised.value.message


def test_the_sandbox_allows_what_templates_need() -> None:
    variables = sample_variables(EmailKind.REMINDER, PT, NOW)
    source = (
        "{{ customer.name.upper() }}|{{ customer.name|lower }}|{{ '=' * 3 }}|"
        "{% for line in charge.lines %}{{ loop.index }}. {{ line.description }} "
        "{{ line.total }}; {% endfor %}|{{ charge.lines|map(attribute='amount')|join(' + ') }}|"
        "{{ 'amanhã' if days_until_due == 1 else days_until_due ~ ' dias' }}|"
        "{{ charge.pix_code[:6] }}|{{ customer.email|default('sem e-mail') }}"
    )
    rendered = render_part(source, Part.TEXT, EmailKind.REMINDER, variables)
    assert rendered == (
        "MARIA DA CONCEIÇÃO SOUZA|maria da conceição souza|===|"
        "1. Mensalidade R$ 1.199,90; 2. Material didático R$ 114,66; |"
        "R$ 1.199,90 + R$ 57,33|3 dias|000201|maria.souza@example.com\n"
    )


def test_html_is_escaped_and_text_is_not() -> None:
    variables = sample_variables(EmailKind.REMINDER, PT, NOW)
    variables["customer"]["name"] = "<script>alert('x')</script> & Cia"
    html = render_part("<b>{{ customer.name }}</b>", Part.HTML, EmailKind.REMINDER, variables)
    assert html == "<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Cia</b>"
    text = render_part("{{ customer.name }}", Part.TEXT, EmailKind.REMINDER, variables)
    assert text == "<script>alert('x')</script> & Cia\n"


def test_subjects_are_one_line_and_texts_are_tidy() -> None:
    variables = sample_variables(EmailKind.REMINDER, PT, NOW)
    subject = render_part(
        "Olá,\n  {{ customer.name }}\r\nBcc: x@example.com",
        Part.SUBJECT,
        EmailKind.REMINDER,
        variables,
    )
    assert subject == "Olá, Maria da Conceição Souza Bcc: x@example.com"
    text = render_part("\n\na  \n\n\n\n\nb", Part.TEXT, EmailKind.REMINDER, variables)
    assert text == "a\n\nb\n"


def test_output_is_bounded() -> None:
    variables: dict[str, Any] = sample_variables(EmailKind.REMINDER, PT, NOW)
    line = {"description": "x" * 1000, "quantity": 1, "amount": "", "total": ""}
    variables["charge"]["lines"] = [line] * (MAX_OUTPUT // 1000 + 10)
    source = "{% for line in charge.lines %}{{ line.description }}{% endfor %}"
    with pytest.raises(TemplateFailure, match="longer than"):
        render_part(source, Part.HTML, EmailKind.REMINDER, variables)


def test_failures_name_every_part() -> None:
    sources = Sources(subject="{{ x }}", html="{% if %}", text="fine")
    samples = [sample_variables(EmailKind.RECEIPT, PT, NOW)]
    failures = template_failures(sources, EmailKind.RECEIPT, samples)
    assert [failure.part for failure in failures] == [Part.SUBJECT, Part.HTML]


# --- the render budget ------------------------------------------------------------------------

MEGA = "(('x'*1000)|replace('x','y'*999))"  # 999,000 characters: one call may, a budget not
HALF = "(('x'*1000)|replace('x','y'*499))"  # 499,000


def _spend(source: str, limits: Limits = LIMITS) -> str:
    variables = sample_variables(EmailKind.REMINDER, PT, NOW)
    return render_part(source, Part.TEXT, EmailKind.REMINDER, variables, limits=limits)


@pytest.mark.parametrize(
    ("source", "limits", "cap"),
    [
        ("{{ customer.name }}", Limits(output=10), "the output is longer than 10 characters"),
        ("{{ customer.name|upper }}", Limits(built=10), "built more than 10 characters"),
        ("{{ customer.name.upper() }}", Limits(built=10), "built more than 10 characters"),
        ("{{ customer.name ~ customer.name }}", Limits(built=30), "built more than 30"),
        ("{{ 'ab' * 10 }}", Limits(built=10), "built more than 10 characters"),
        ("{% for l in charge.lines %}{% endfor %}", Limits(iterations=1), "more than 1 iter"),
        ("{{ customer.name|sort }}", Limits(items=5), "sort may go over at most 5 items"),
        ("{% for c in customer.name %}{{ c }}{% endfor %}", Limits(seconds=0), "longer than 0 ms"),
        ("{{ " + " ~ ".join([MEGA] * 50) + " }}", LIMITS, "built more than 1,000,000"),
    ],
)
def test_each_cap_of_the_budget_fails_the_rendering_naming_it(
    source: str, limits: Limits, cap: str
) -> None:
    with pytest.raises(TemplateFailure) as raised:
        _spend(source, limits)
    assert raised.value.message.startswith("over the render budget: ")
    assert cap in raised.value.message


def test_the_budget_adds_up_every_call_and_every_loop() -> None:
    # One `replace` of half a million characters is allowed; two are not (refused before the
    # second is built), nor 3 loops of 2 turns with a cap of 5.
    assert len(_spend("{{ " + HALF + " }}").strip()) == 499_000
    with pytest.raises(TemplateFailure, match="built more than 1,000,000"):
        _spend("{{ " + HALF + " }}{{ " + HALF + " }}")
    loops = "{% for l in charge.lines %}.{% endfor %}" * 3
    assert _spend(loops, Limits(iterations=6)) == "......\n"
    with pytest.raises(TemplateFailure, match="loops ran more than 5 iterations"):
        _spend(loops, Limits(iterations=5))


def test_a_template_of_more_than_a_thousand_parts_is_refused_before_it_is_compiled() -> None:
    assert _spend("{{ customer.name }}" * 400).count("Maria") == 400
    with pytest.raises(TemplateFailure, match="more than 1,000 parts"):
        _spend("{{ customer.name }}" * 600)
    # A long source stops being parsed at 5,000 tokens; long text between tags is one token.
    with pytest.raises(TemplateFailure, match="more than 5,000 tokens"):
        _spend("{{ customer.name }}" * 5_000)
    assert _spend("x" * 99_000 + "{{ customer.name }}").endswith("xMaria da Conceição Souza\n")


def test_replace_and_join_are_refused_before_they_build() -> None:
    # A 999,000-character `replace` under a 10,000 budget: refused without allocating it.
    source = "{{ customer.name|replace(customer.name, 'x'*1000)|replace('x', 'y'*999) }}"
    _spend("{{ customer.name }}")  # compiled and warmed up outside the measure
    with pytest.raises(TemplateFailure, match="built more than 10,000"):
        _spend(source, Limits(built=10_000))
    tracemalloc.start()
    try:
        with pytest.raises(TemplateFailure, match="built more than 10,000"):
            _spend(source, Limits(built=10_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200_000


def test_each_rendering_has_its_own_budget() -> None:
    source = "{{ " + HALF + "|length }}"
    for _ in range(5):  # 2.5 million characters, were they one rendering's
        assert _spend(source) == "499000\n"


def test_the_issues_loop_bomb_stops_at_the_first_turns() -> None:
    bomb = (
        "{% for c in customer.name|replace(customer.name, ('z'*1000)|replace('z','z'*999)) %}"
        "{% if " + MEGA + "|length > 0 %}{% endif %}{% endfor %}"
    )
    with pytest.raises(TemplateFailure, match="built more than 1,000,000 characters"):
        _spend(bomb)


def test_big_products_are_refused() -> None:
    with pytest.raises(TemplateFailure, match="product is too large"):
        _spend("{{ (2 ** 2000) * (2 ** 2000) * (2 ** 2000) }}")
    assert _spend("{{ 2 * 21 }}") == "42\n"


def test_the_defaults_fit_the_budget_with_room_to_spare() -> None:
    tight = Limits(output=20_000, built=20_000, iterations=100, seconds=LIMITS.seconds)
    for kind in EmailKind:
        variables = sample_variables(kind, PT, NOW)
        render_email(default_sources(kind, Locale.PT_BR), kind, variables, limits=tight)


async def test_rendering_runs_in_a_render_thread() -> None:
    here = threading.get_ident()
    there = await render_off_loop(threading.get_ident)
    assert there != here
    assert await render_off_loop(_spend, "{{ customer.name }}") == "Maria da Conceição Souza\n"


# --- SMTP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("smtp://mail.example.com", SmtpTarget("mail.example.com", 587, False)),
        ("smtp://127.0.0.1:2525/", SmtpTarget("127.0.0.1", 2525, False)),
        ("smtps://smtp.example.com", SmtpTarget("smtp.example.com", 465, True)),
        (
            "smtp://user%40example.com:p%40ss%3Aw0rd@smtp.example.com:587",
            SmtpTarget("smtp.example.com", 587, False, "user@example.com", "p@ss:w0rd"),
        ),
        (
            "smtps://apikey:@smtp.example.com",
            SmtpTarget("smtp.example.com", 465, True, "apikey", ""),
        ),
    ],
)
def test_smtp_urls(url: str, target: SmtpTarget) -> None:
    parsed = parse_smtp_url(url)
    assert parsed == target
    assert parsed.password == target.password
    assert "w0rd" not in repr(parsed) + str(parsed)


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com",
        "smtp://",
        "smtp://host:99999",
        "smtp://host/path",
        "smtp://h?tls=1",
    ],
)
def test_bad_smtp_urls(url: str) -> None:
    with pytest.raises(ValueError, match="ASSINA_SMTP_URL"):
        parse_smtp_url(url)


def test_settings_check_the_smtp_url_without_showing_it() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(smtp_url="ftp://user:hunter2@host")
    assert "hunter2" not in str(raised.value)
    assert Settings(smtp_url="").smtp_url is None
    assert Settings(smtp_url=" ").smtp_url is None
    with pytest.raises(ValidationError):
        Settings(smtp_from="not an address")
    assert Settings().smtp_from == "assina@localhost"


def _outgoing(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "email_id": "eml_01",
        "to_address": "joao@example.com",
        "subject": "Cobrança nº 1 — vencimento amanhã",
        "text_body": "Olá, João!\n",
        "html_body": "<p>Olá, João!</p>",
        "from_name": "Escola Ação",
        "reply_to": "secretaria@example.com",
        "attempt_count": 0,
    }
    return Outgoing(**(fields | changes))


def test_the_message_carries_both_bodies_and_encoded_headers() -> None:
    message = build_message(_outgoing(), "cobranca@escola.com.br", NOW)
    wire = message.as_bytes()
    assert wire.isascii()
    read = message_from_bytes(wire, policy=policy.default)
    assert read["Subject"] == "Cobrança nº 1 — vencimento amanhã"
    assert read["From"] == "Escola Ação <cobranca@escola.com.br>"
    assert read["Reply-To"] == "secretaria@example.com"
    assert read["Message-ID"] == "<eml_01@escola.com.br>"
    assert read["Date"] == "Thu, 15 Jan 2026 12:00:00 +0000"
    assert read.get_content_type() == "multipart/alternative"
    assert read.get_body(("plain",)).get_content() == "Olá, João!\n"  # type: ignore[union-attr]
    assert "Olá, João!" in read.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_a_template_without_html_sends_text_only() -> None:
    message = build_message(_outgoing(html_body="", from_name=None, reply_to=None), "a@b.c", NOW)
    assert message.get_content_type() == "text/plain"
    assert message["From"] == "a@b.c" and message["Reply-To"] is None


def test_an_address_that_no_header_can_carry_is_refused() -> None:
    with pytest.raises(ValueError):
        build_message(_outgoing(to_address="joão@exemplo.com.br"), "a@b.c", NOW)


def test_the_retry_schedule() -> None:
    assert [EMAIL_RETRIES.delay(n) for n in range(1, 7)] == [*RETRY_SCHEDULE, None]
    assert (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
    ) == RETRY_SCHEDULE
    assert EMAIL_RETRIES.delay(0) is None


def test_which_errors_are_final() -> None:
    refused = aiosmtplib.SMTPRecipientRefused(550, "5.1.1 No such user", "x@example.com")
    assert describe_error(aiosmtplib.SMTPRecipientsRefused([refused])) == (
        "550 5.1.1 No such user",
        True,
    )
    later = aiosmtplib.SMTPRecipientRefused(451, "4.7.1 Try later", "x@example.com")
    assert describe_error(aiosmtplib.SMTPRecipientsRefused([later]))[1] is False
    assert describe_error(aiosmtplib.SMTPDataError(554, "5.7.1 Spam"))[1] is True
    assert describe_error(aiosmtplib.SMTPSenderRefused(553, "no", "a@b.c"))[1] is False
    assert describe_error(aiosmtplib.SMTPAuthenticationError(535, "bad"))[1] is False
    assert describe_error(ConnectionRefusedError(111, "refused")) == (
        "ConnectionRefusedError: [Errno 111] refused",
        False,
    )


def test_international_domains_go_as_punycode() -> None:
    message = build_message(_outgoing(to_address="ana@exãmple.com.br"), "a@b.c", NOW)
    assert message["To"] == "ana@xn--exmple-4ta.com.br"
