"""The default templates, in Brazilian Portuguese (`pt-BR`, the default) and English (`en`).

Each default is written once as a subject and paragraphs; the text and HTML bodies are built
from them, so the two never say different things. A tenant that saves its own template for a
kind gets the complete sources to start from (`GET /v1/email-templates/{kind}`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from assina.notifications.models import EmailKind, Locale
from assina.notifications.templates import Sources


@dataclass(frozen=True)
class Paragraph:
    body: str  # Jinja source of plain text; a newline is a line break
    when: str | None = None  # shown only when this expression is true
    code: bool = False  # a code to copy (PIX): monospace in HTML
    link: bool = False  # the body is a URL: a link in HTML


@dataclass(frozen=True)
class Default:
    subject: str
    paragraphs: tuple[Paragraph, ...]


# --- Português (Brasil) -----------------------------------------------------------------------

_PT_HELLO = Paragraph("Olá, {{ customer.name }}!")
_PT_SIGN = Paragraph("Atenciosamente,\n{{ company.name }}")
_PT_DESCRIPTION = Paragraph("Referente a: {{ charge.description }}.", when="charge.description")
_PT_LINK = (
    Paragraph(
        "Você também pode ver a cobrança e pagar pela internet (PIX, boleto ou cartão):",
        when="charge.payment_url",
    ),
    Paragraph("{{ charge.payment_url }}", when="charge.payment_url", link=True),
)
_PT_PAYMENT = (
    Paragraph(
        "Para pagar via PIX, copie o código abaixo e cole no aplicativo do seu banco, na opção "
        "PIX Copia e Cola:",
        when="charge.pix_code",
    ),
    Paragraph("{{ charge.pix_code }}", when="charge.pix_code", code=True),
    Paragraph(
        "Se preferir pagar com boleto, utilize a linha digitável: {{ charge.boleto_line }}",
        when="charge.boleto_line",
    ),
    *_PT_LINK,
)
_PT_CONTRACT = (
    "contrato nº {{ contract.number }}"
    "{% if contract.description %} ({{ contract.description }}){% endif %}"
)
_PT_IN_DAYS = "{% if {n} == 0 %}hoje{% elif {n} == 1 %}amanhã{% else %}em {{ {n} }} dias{% endif %}"

PT_BR: dict[EmailKind, Default] = {
    EmailKind.CHARGE_CREATED: Default(
        "Nova cobrança de {{ charge.amount }} com vencimento em {{ charge.due_date }}",
        (
            _PT_HELLO,
            Paragraph(
                "Informamos que a cobrança nº {{ charge.number }}, no valor de "
                "{{ charge.amount }}, já está disponível para pagamento. O vencimento é em "
                "{{ charge.due_date }}."
            ),
            _PT_DESCRIPTION,
            *_PT_PAYMENT,
            Paragraph(
                "Caso o pagamento já tenha sido efetuado, por favor desconsidere esta mensagem."
            ),
            _PT_SIGN,
        ),
    ),
    EmailKind.REMINDER: Default(
        "Lembrete: a cobrança nº {{ charge.number }} vence em {{ charge.due_date }}",
        (
            _PT_HELLO,
            Paragraph(
                "Este é um lembrete de que a cobrança nº {{ charge.number }}, no valor de "
                "{{ charge.amount }}, vence "
                + _PT_IN_DAYS.replace("{n}", "days_until_due")
                + " ({{ charge.due_date }})."
            ),
            _PT_DESCRIPTION,
            *_PT_PAYMENT,
            Paragraph("Se você já realizou o pagamento, por favor desconsidere este aviso."),
            _PT_SIGN,
        ),
    ),
    EmailKind.OVERDUE: Default(
        "Cobrança em atraso: nº {{ charge.number }}, vencida em {{ charge.due_date }}",
        (
            _PT_HELLO,
            Paragraph(
                "Até o momento, não identificamos o pagamento da cobrança nº "
                "{{ charge.number }}, no valor de {{ charge.amount }}, com vencimento em "
                "{{ charge.due_date }}{% if days_overdue > 0 %} ({{ days_overdue }} "
                "{{ 'dia' if days_overdue == 1 else 'dias' }} em atraso){% endif %}."
            ),
            Paragraph(
                "Pedimos a gentileza de regularizar o pagamento o quanto antes, para evitar a "
                "suspensão dos serviços. Pagamentos após o vencimento estão sujeitos a multa e "
                "juros."
            ),
            *_PT_PAYMENT,
            Paragraph(
                "Se o pagamento já foi efetuado, por favor desconsidere esta mensagem. Em caso de "
                "dúvidas, é só responder a este e-mail."
            ),
            _PT_SIGN,
        ),
    ),
    EmailKind.SUSPENSION: Default(
        "Serviço suspenso: contrato nº {{ contract.number }}",
        (
            _PT_HELLO,
            Paragraph(f"Informamos que o {_PT_CONTRACT} foi suspenso por falta de pagamento."),
            Paragraph(
                "Para reativar o serviço, basta quitar as cobranças em aberto. Assim que o "
                "pagamento for confirmado, o acesso será restabelecido."
            ),
            Paragraph("Em caso de dúvidas, estamos à disposição: é só responder a este e-mail."),
            _PT_SIGN,
        ),
    ),
    EmailKind.CANCELLATION: Default(
        "Contrato nº {{ contract.number }} cancelado",
        (
            _PT_HELLO,
            Paragraph(f"Confirmamos o cancelamento do {_PT_CONTRACT}."),
            Paragraph("Motivo: {{ contract.cancel_reason }}", when="contract.cancel_reason"),
            Paragraph(
                "Agradecemos a confiança durante todo esse tempo. Se quiser retomar os "
                "serviços, entre em contato conosco: será um prazer atender você novamente."
            ),
            _PT_SIGN,
        ),
    ),
    EmailKind.RECEIPT: Default(
        "Pagamento confirmado: cobrança nº {{ charge.number }}",
        (
            _PT_HELLO,
            Paragraph(
                "Recebemos o pagamento de {{ charge.settled_amount }}"
                "{% if charge.settled_at %} em {{ charge.settled_at }}{% endif %}, referente à "
                "cobrança nº {{ charge.number }}, com vencimento em {{ charge.due_date }}."
            ),
            _PT_DESCRIPTION,
            Paragraph("Muito obrigado! Este e-mail serve como recibo do pagamento."),
            _PT_SIGN,
        ),
    ),
    EmailKind.TRIAL_ENDING: Default(
        "Seu período de teste termina em {{ contract.trial_end }}",
        (
            _PT_HELLO,
            Paragraph(
                f"O período de teste do {_PT_CONTRACT} termina "
                + _PT_IN_DAYS.replace("{n}", "days_left")
                + ", em {{ contract.trial_end }}."
            ),
            Paragraph(
                "Depois disso, a assinatura passa a ser cobrada normalmente: "
                "{{ contract.amount }} {{ contract.recurrence }}. Você não precisa fazer nada "
                "para continuar usando o serviço."
            ),
            Paragraph(
                "A primeira cobrança, nº {{ first_charge.number }}, no valor de "
                "{{ first_charge.amount }}, já foi emitida e vence em "
                "{{ first_charge.due_date }}.",
                when="first_charge.amount",
            ),
            Paragraph("Se tiver qualquer dúvida, é só responder a este e-mail."),
            _PT_SIGN,
        ),
    ),
    EmailKind.CARD_DECLINED: Default(
        "Pagamento recusado: cobrança nº {{ charge.number }}",
        (
            _PT_HELLO,
            Paragraph(
                "Não conseguimos cobrar no seu cartão{% if decline.card_last4 %} final "
                "{{ decline.card_last4 }}{% endif %} a cobrança nº {{ charge.number }}, no valor "
                "de {{ charge.amount }}, com vencimento em {{ charge.due_date }}."
            ),
            Paragraph("Motivo: {{ decline.message }}", when="decline.message"),
            Paragraph(
                "Para atualizar o cartão ou pagar de outra forma (PIX ou boleto), acesse:",
                when="charge.payment_url",
            ),
            Paragraph("{{ charge.payment_url }}", when="charge.payment_url", link=True),
            Paragraph("Em caso de dúvidas, é só responder a este e-mail."),
            _PT_SIGN,
        ),
    ),
    EmailKind.FISCAL_INVOICE: Default(
        "Nota fiscal emitida{% if invoice.nfse_number %}: NFS-e nº {{ invoice.nfse_number }}"
        "{% endif %}",
        (
            _PT_HELLO,
            Paragraph(
                "Emitimos a nota fiscal de serviço (NFS-e)"
                "{% if invoice.nfse_number %} nº {{ invoice.nfse_number }}{% endif %}, no valor "
                "de {{ invoice.amount }}{% if invoice.issued_at %}, em {{ invoice.issued_at }}"
                "{% endif %}, referente à cobrança nº {{ charge.number }}."
            ),
            Paragraph(
                "Serviço: {{ invoice.service_description }}", when="invoice.service_description"
            ),
            Paragraph(
                "Código de verificação: {{ invoice.verification_code }}",
                when="invoice.verification_code",
            ),
            Paragraph("Chave de acesso:", when="invoice.access_key"),
            Paragraph("{{ invoice.access_key }}", when="invoice.access_key", code=True),
            Paragraph("O PDF da nota fiscal segue anexo a este e-mail."),
            Paragraph(
                "Você também pode consultá-la no Portal Nacional da NFS-e:",
                when="invoice.consultation_url",
            ),
            Paragraph("{{ invoice.consultation_url }}", when="invoice.consultation_url", link=True),
            Paragraph("Em caso de dúvidas, é só responder a este e-mail."),
            _PT_SIGN,
        ),
    ),
}

# --- English ----------------------------------------------------------------------------------

_EN_HELLO = Paragraph("Hello {{ customer.name }},")
_EN_SIGN = Paragraph("Kind regards,\n{{ company.name }}")
_EN_DESCRIPTION = Paragraph("For: {{ charge.description }}.", when="charge.description")
_EN_LINK = (
    Paragraph(
        "You can also see the charge and pay online (PIX, boleto or card):",
        when="charge.payment_url",
    ),
    Paragraph("{{ charge.payment_url }}", when="charge.payment_url", link=True),
)
_EN_PAYMENT = (
    Paragraph(
        "To pay by PIX, copy the code below and paste it in your bank's app (PIX Copia e Cola):",
        when="charge.pix_code",
    ),
    Paragraph("{{ charge.pix_code }}", when="charge.pix_code", code=True),
    Paragraph(
        "To pay by boleto, use this line: {{ charge.boleto_line }}", when="charge.boleto_line"
    ),
    *_EN_LINK,
)
_EN_CONTRACT = (
    "contract no. {{ contract.number }}"
    "{% if contract.description %} ({{ contract.description }}){% endif %}"
)
_EN_IN_DAYS = (
    "{% if {n} == 0 %}today{% elif {n} == 1 %}tomorrow{% else %}in {{ {n} }} days{% endif %}"
)

EN: dict[EmailKind, Default] = {
    EmailKind.CHARGE_CREATED: Default(
        "New charge of {{ charge.amount }} due on {{ charge.due_date }}",
        (
            _EN_HELLO,
            Paragraph(
                "Charge no. {{ charge.number }}, for {{ charge.amount }}, is ready to be paid. "
                "It is due on {{ charge.due_date }}."
            ),
            _EN_DESCRIPTION,
            *_EN_PAYMENT,
            Paragraph("If you have already paid, please disregard this message."),
            _EN_SIGN,
        ),
    ),
    EmailKind.REMINDER: Default(
        "Reminder: charge no. {{ charge.number }} is due on {{ charge.due_date }}",
        (
            _EN_HELLO,
            Paragraph(
                "This is a reminder that charge no. {{ charge.number }}, for "
                "{{ charge.amount }}, is due "
                + _EN_IN_DAYS.replace("{n}", "days_until_due")
                + " ({{ charge.due_date }})."
            ),
            _EN_DESCRIPTION,
            *_EN_PAYMENT,
            Paragraph("If you have already paid, please disregard this reminder."),
            _EN_SIGN,
        ),
    ),
    EmailKind.OVERDUE: Default(
        "Overdue: charge no. {{ charge.number }}, due on {{ charge.due_date }}",
        (
            _EN_HELLO,
            Paragraph(
                "We have not yet received payment for charge no. {{ charge.number }}, for "
                "{{ charge.amount }}, due on {{ charge.due_date }}"
                "{% if days_overdue > 0 %} ({{ days_overdue }} "
                "{{ 'day' if days_overdue == 1 else 'days' }} overdue){% endif %}."
            ),
            Paragraph(
                "Please settle it as soon as possible to avoid the suspension of the service. "
                "Late payments are subject to a fine and interest."
            ),
            *_EN_PAYMENT,
            Paragraph(
                "If you have already paid, please disregard this message. If you have any "
                "questions, just reply to this e-mail."
            ),
            _EN_SIGN,
        ),
    ),
    EmailKind.SUSPENSION: Default(
        "Service suspended: contract no. {{ contract.number }}",
        (
            _EN_HELLO,
            Paragraph(f"Your {_EN_CONTRACT} has been suspended for non-payment."),
            Paragraph(
                "To restore the service, please settle the open charges. As soon as the payment "
                "is confirmed, your access will be restored."
            ),
            Paragraph("If you have any questions, just reply to this e-mail."),
            _EN_SIGN,
        ),
    ),
    EmailKind.CANCELLATION: Default(
        "Contract no. {{ contract.number }} cancelled",
        (
            _EN_HELLO,
            Paragraph(f"This confirms that your {_EN_CONTRACT} has been cancelled."),
            Paragraph("Reason: {{ contract.cancel_reason }}", when="contract.cancel_reason"),
            Paragraph(
                "Thank you for having been with us. If you would like to come back, just get in "
                "touch: we will be glad to help."
            ),
            _EN_SIGN,
        ),
    ),
    EmailKind.RECEIPT: Default(
        "Payment received: charge no. {{ charge.number }}",
        (
            _EN_HELLO,
            Paragraph(
                "We have received your payment of {{ charge.settled_amount }}"
                "{% if charge.settled_at %} on {{ charge.settled_at }}{% endif %} for charge "
                "no. {{ charge.number }}, due on {{ charge.due_date }}."
            ),
            _EN_DESCRIPTION,
            Paragraph("Thank you! This e-mail is your receipt."),
            _EN_SIGN,
        ),
    ),
    EmailKind.TRIAL_ENDING: Default(
        "Your trial ends on {{ contract.trial_end }}",
        (
            _EN_HELLO,
            Paragraph(
                f"The trial of your {_EN_CONTRACT} ends "
                + _EN_IN_DAYS.replace("{n}", "days_left")
                + ", on {{ contract.trial_end }}."
            ),
            Paragraph(
                "After that, the subscription is billed as usual: {{ contract.amount }} "
                "{{ contract.recurrence }}. You do not need to do anything to keep using the "
                "service."
            ),
            Paragraph(
                "The first charge, no. {{ first_charge.number }}, of {{ first_charge.amount }}, "
                "has already been issued and is due on {{ first_charge.due_date }}.",
                when="first_charge.amount",
            ),
            Paragraph("If you have any questions, just reply to this e-mail."),
            _EN_SIGN,
        ),
    ),
    EmailKind.CARD_DECLINED: Default(
        "Payment declined: charge no. {{ charge.number }}",
        (
            _EN_HELLO,
            Paragraph(
                "We could not charge your card{% if decline.card_last4 %} ending in "
                "{{ decline.card_last4 }}{% endif %} for charge no. {{ charge.number }}, of "
                "{{ charge.amount }}, due on {{ charge.due_date }}."
            ),
            Paragraph("Reason: {{ decline.message }}", when="decline.message"),
            Paragraph(
                "To update your card or pay another way (PIX or boleto), go to:",
                when="charge.payment_url",
            ),
            Paragraph("{{ charge.payment_url }}", when="charge.payment_url", link=True),
            Paragraph("If you have any questions, just reply to this e-mail."),
            _EN_SIGN,
        ),
    ),
    EmailKind.FISCAL_INVOICE: Default(
        "Invoice issued{% if invoice.nfse_number %}: NFS-e no. {{ invoice.nfse_number }}"
        "{% endif %}",
        (
            _EN_HELLO,
            Paragraph(
                "We have issued the service invoice (NFS-e)"
                "{% if invoice.nfse_number %} no. {{ invoice.nfse_number }}{% endif %}, of "
                "{{ invoice.amount }}{% if invoice.issued_at %}, on {{ invoice.issued_at }}"
                "{% endif %}, for charge no. {{ charge.number }}."
            ),
            Paragraph(
                "Service: {{ invoice.service_description }}", when="invoice.service_description"
            ),
            Paragraph(
                "Verification code: {{ invoice.verification_code }}",
                when="invoice.verification_code",
            ),
            Paragraph("Access key:", when="invoice.access_key"),
            Paragraph("{{ invoice.access_key }}", when="invoice.access_key", code=True),
            Paragraph("The invoice's PDF is attached to this e-mail."),
            Paragraph(
                "You can also look it up on the national NFS-e portal:",
                when="invoice.consultation_url",
            ),
            Paragraph("{{ invoice.consultation_url }}", when="invoice.consultation_url", link=True),
            Paragraph("If you have any questions, just reply to this e-mail."),
            _EN_SIGN,
        ),
    ),
}

_DEFAULTS = {Locale.PT_BR: PT_BR, Locale.EN: EN}
_FOOTERS = {
    Locale.PT_BR: "Este e-mail foi enviado por {{ company.name }}.",
    Locale.EN: "This e-mail was sent by {{ company.name }}.",
}

# --- building the sources ---------------------------------------------------------------------

_HTML_HEAD = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{{{ company.name }}}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<div style="max-width:560px;margin:0 auto;padding:24px 16px;font-family:Arial,Helvetica,\
sans-serif;font-size:15px;line-height:1.5;color:#1f2933;">
<div style="background-color:#ffffff;border-radius:8px;padding:24px;">
"""
_HTML_FOOT = """</div>
<p style="margin:16px 0 0;font-size:12px;color:#7b8794;text-align:center;">{footer}</p>
</div>
</body>
</html>
"""
_P = '<p style="margin:0 0 16px;">'
_CODE = (
    '<p style="margin:0 0 16px;padding:12px;background-color:#f4f5f7;border-radius:4px;'
    'font-family:Consolas,Menlo,monospace;font-size:13px;word-break:break-all;">'
)


def _guarded(source: str, when: str | None) -> str:
    return f"{{% if {when} %}}\n{source}{{% endif %}}\n" if when else source


def _text(default: Default) -> str:
    return "".join(_guarded(f"{p.body}\n\n", p.when) for p in default.paragraphs)


def _html_paragraph(paragraph: Paragraph) -> str:
    if paragraph.link:
        return f'{_P}<a href="{paragraph.body}" style="color:#0b6bcb;">{paragraph.body}</a></p>\n'
    start = _CODE if paragraph.code else _P
    return f"{start}{paragraph.body.replace(chr(10), '<br>')}</p>\n"


def _html(default: Default, locale: Locale) -> str:
    paragraphs = "".join(_guarded(_html_paragraph(p), p.when) for p in default.paragraphs)
    head = _HTML_HEAD.format(lang=locale.value)
    return head + paragraphs + _HTML_FOOT.format(footer=_FOOTERS[locale])


@functools.cache
def default_sources(kind: EmailKind, locale: Locale) -> Sources:
    default = _DEFAULTS[locale][kind]
    return Sources(subject=default.subject, html=_html(default, locale), text=_text(default))
