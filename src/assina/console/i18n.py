"""The console's words in pt-BR and English: one catalog, keyed by a short English name.

Portuguese is the default; a person switches to English with the link in the header (a
cookie). A key missing from the catalog is a bug that the tests find (every `t("…")` of every
template is looked up), never a blank on a page.
"""

from __future__ import annotations

from assina.notifications.models import Locale

LANGUAGE_COOKIE = "assina_lang"

# key → (pt-BR, en)
MESSAGES: dict[str, tuple[str, str]] = {
    # the frame
    "app.name": ("assina", "assina"),
    "nav.dashboard": ("Painel", "Dashboard"),
    "nav.customers": ("Clientes", "Customers"),
    "nav.products": ("Produtos", "Products"),
    "nav.contracts": ("Contratos", "Contracts"),
    "nav.charges": ("Cobranças", "Charges"),
    "nav.orders": ("Pedidos", "Orders"),
    "nav.expenses": ("Despesas", "Expenses"),
    "nav.fiscal": ("Notas fiscais", "Service invoices"),
    "nav.webhooks": ("Webhooks", "Webhooks"),
    "nav.settings": ("Configurações", "Settings"),
    "nav.menu": ("Menu", "Menu"),
    "header.sign_out": ("Sair", "Sign out"),
    "header.language": ("English", "Português"),
    "header.signed_in_as": ("Conectado como", "Signed in as"),
    "role.admin": ("Administrador", "Administrator"),
    "role.finance": ("Financeiro", "Finance"),
    "role.viewer": ("Leitura", "Viewer"),
    "sandbox.banner": (
        "Ambiente de testes (sandbox): nada aqui é cobrado de verdade.",
        "Sandbox: nothing here is charged for real.",
    ),
    "sandbox.clock": ("Relógio de testes", "Test clock"),
    "sandbox.advance": ("Avançar", "Advance"),
    "sandbox.days": ("dias", "days"),
    "sandbox.advanced": (
        "Relógio avançado {days} dia(s): {charges} cobrança(s) emitida(s).",
        "Clock advanced {days} day(s): {charges} charge(s) issued.",
    ),
    # sign-in
    "login.title": ("Entrar no assina", "Sign in to assina"),
    "login.email": ("E-mail", "E-mail"),
    "login.password": ("Senha", "Password"),
    "login.submit": ("Entrar", "Sign in"),
    "login.invalid": ("E-mail ou senha incorretos.", "Wrong e-mail or password."),
    "login.throttled": (
        "Muitas tentativas. Tente de novo em {minutes} minuto(s).",
        "Too many attempts. Try again in {minutes} minute(s).",
    ),
    "login.signed_out": ("Você saiu do console.", "You have signed out."),
    "login.expired": (
        "Sua sessão expirou; entre de novo.",
        "Your session has expired; sign in again.",
    ),
    # errors
    "error.title": ("Algo não deu certo", "Something went wrong"),
    "error.forbidden": (
        "Seu papel não permite esta ação.",
        "Your role does not allow this action.",
    ),
    "error.not_found": ("Página não encontrada.", "Page not found."),
    "error.csrf": (
        "O formulário expirou; recarregue a página e tente de novo.",
        "The form has expired; reload the page and try again.",
    ),
    "error.back": ("Voltar ao painel", "Back to the dashboard"),
    "form.fix": ("Corrija os campos indicados.", "Fix the fields shown."),
    "form.save": ("Salvar", "Save"),
    "form.cancel": ("Cancelar", "Cancel"),
    "form.saved": ("Salvo.", "Saved."),
    "form.search": ("Buscar", "Search"),
    "form.filter": ("Filtrar", "Filter"),
    "form.required": ("obrigatório", "required"),
    "list.empty": ("Nada por aqui ainda.", "Nothing here yet."),
    "list.next": ("Próxima página", "Next page"),
    "list.first": ("Primeira página", "First page"),
    "list.all": ("Todos", "All"),
    "list.pages": ("Páginas", "Pages"),
    # fields
    "field.name": ("Nome", "Name"),
    "field.email": ("E-mail", "E-mail"),
    "field.document": ("CPF/CNPJ", "CPF/CNPJ"),
    "field.phone": ("Telefone", "Phone"),
    "field.status": ("Situação", "Status"),
    "field.amount": ("Valor", "Amount"),
    "field.due_date": ("Vencimento", "Due date"),
    "field.created_at": ("Criado em", "Created"),
    "field.customer": ("Cliente", "Customer"),
    # statuses of every object shown
    "status.active": ("Ativo", "Active"),
    "status.delinquent": ("Inadimplente", "Delinquent"),
    "status.suspended": ("Suspenso", "Suspended"),
    "status.inactive": ("Inativo", "Inactive"),
    "status.open": ("Em aberto", "Open"),
    "status.settled": ("Liquidada", "Settled"),
    "status.reversed": ("Estornada", "Reversed"),
    "status.invalidated": ("Invalidada", "Invalidated"),
    "status.trialing": ("Em teste", "Trialing"),
    "status.cancelled": ("Cancelado", "Cancelled"),
    "status.pending": ("Pendente", "Pending"),
    "status.sent": ("Enviado", "Sent"),
    "status.failed": ("Falhou", "Failed"),
    "status.not_configured": ("Sem SMTP", "No SMTP"),
    "status.no_recipient": ("Sem e-mail", "No recipient"),
    "status.issued": ("Emitida", "Issued"),
    "status.rejected": ("Rejeitada", "Rejected"),
    "status.paid": ("Pago", "Paid"),
    "status.fulfilled": ("Entregue", "Fulfilled"),
    "status.expired": ("Expirado", "Expired"),
    "status.delivered": ("Entregue", "Delivered"),
    "status.enabled": ("Ativo", "Enabled"),
    "status.disabled": ("Desativado", "Disabled"),
    "status.overdue": ("Vencida", "Overdue"),
    # customers
    "customers.new": ("Novo cliente", "New customer"),
    "customers.edit": ("Editar", "Edit"),
    "customers.search": ("Buscar", "Search"),
    "customers.search_hint": ("Nome, e-mail ou CPF/CNPJ", "Name, e-mail or CPF/CNPJ"),
    "customers.document_hint": ("Com ou sem pontuação.", "With or without punctuation."),
    "customers.dunning_exempt": (
        "Fora da régua de cobrança (não é suspenso nem cancelado por atraso)",
        "Exempt from dunning (never suspended or cancelled for being late)",
    ),
    "customers.facts": ("Dados", "Details"),
    "customers.timeline": ("Linha do tempo", "Timeline"),
    "customers.emails": ("E-mails enviados", "E-mails sent"),
    "customers.all_charges": ("Todas as cobranças", "All charges"),
    "customers.deactivate": ("Desativar", "Deactivate"),
    "customers.reactivate": ("Reativar", "Reactivate"),
    "contracts.next_charge": ("Próxima cobrança", "Next charge"),
    "emails.subject": ("Assunto", "Subject"),
    # the dashboard
    "dashboard.numbers": ("Indicadores", "Key figures"),
    "dashboard.mrr": ("Receita recorrente mensal (MRR)", "Monthly recurring revenue (MRR)"),
    "dashboard.active_contracts": ("Contratos ativos", "Active contracts"),
    "dashboard.delinquency": ("Inadimplência", "Delinquency"),
    "dashboard.customers_overdue": (
        "{count} cliente(s) com cobrança vencida",
        "{count} customer(s) with an overdue charge",
    ),
    "dashboard.overdue_amount": ("Valor vencido", "Amount overdue"),
    "dashboard.revenue_chart": ("Receita dos últimos 12 meses", "Revenue of the last 12 months"),
    "dashboard.due_soon": (
        "Vencendo nos próximos 7 dias ({count})",
        "Due in the next 7 days ({count})",
    ),
    "dashboard.recent_events": ("Eventos recentes", "Recent events"),
    # charges
    "charges.charge": ("Cobrança", "Charge"),
    "charges.due_from": ("Vencimento de", "Due from"),
    "charges.due_to": ("até", "to"),
    "charges.method": ("Forma de pagamento", "Payment method"),
    "charges.settled_at": ("Liquidada em", "Settled on"),
    "charges.settled_amount": ("Valor recebido", "Amount received"),
    "charges.fees": ("Multa e juros", "Fine and interest"),
    "charges.items": ("Itens", "Items"),
    "charges.how_to_pay": ("Como pagar", "How to pay"),
    "charges.payment_link": ("Link de pagamento", "Payment link"),
    "charges.boleto_line": ("Linha digitável", "Boleto line"),
    "charges.boleto_pdf": ("Boleto (PDF)", "Boleto (PDF)"),
    "charges.actions": ("Ações", "Actions"),
    "charges.amount_received": ("Valor recebido", "Amount received"),
    "charges.amount_hint": (
        "Em branco: o valor com multa e juros de hoje.",
        "Blank: the amount with today's fine and interest.",
    ),
    "charges.settle": ("Dar baixa (liquidar)", "Settle"),
    "charges.reverse": ("Estornar", "Reverse"),
    "charges.invalidate": ("Invalidar", "Invalidate"),
    "charges.reactivate": ("Reabrir", "Reopen"),
    "method.boleto": ("Boleto", "Boleto"),
    "method.pix": ("PIX", "PIX"),
    "method.card": ("Cartão", "Card"),
    # webhooks (console/webhooks.py, console/webhook_endpoint.py)
    "webhooks.new": ("Novo", "New"),
    "webhooks.new_title": ("Novo webhook", "New webhook"),
    "webhooks.none": (
        "Nenhum webhook ainda. Pressione Novo, informe a URL e escolha os eventos.",
        "No webhooks yet. Press New, type the URL and pick the events.",
    ),
    "webhooks.url": ("URL", "URL"),
    "webhooks.url_hint": (
        "Endereço que recebe os eventos (https://…).",
        "The address that receives the events (https://…).",
    ),
    "webhooks.description": ("Descrição", "Description"),
    "webhooks.event_types": ("Eventos", "Events"),
    "webhooks.all_events": ("Todos os eventos", "All events"),
    "webhooks.format": ("Formato", "Format"),
    "webhooks.format.standard": ("Padrão (JSON assinado)", "Standard (signed JSON)"),
    "webhooks.format.superlogica": ("Superlógica (formulário)", "Superlógica (form)"),
    "webhooks.headers": ("Cabeçalhos personalizados", "Custom headers"),
    "webhooks.headers_hint": (
        "Enviados em toda entrega. Deixe em branco as linhas que não usar.",
        "Sent with every delivery. Leave unused rows blank.",
    ),
    "webhooks.header_name": ("Nome", "Name"),
    "webhooks.header_value": ("Valor", "Value"),
    "webhooks.last_attempts": ("Últimas tentativas", "Last attempts"),
    "webhooks.failing_since": ("Falhando desde", "Failing since"),
    "webhooks.no_answer": ("sem resposta", "no answer"),
    "webhooks.validation_token": ("Token de validação", "Validation token"),
    "webhooks.validation_token_hint": (
        "Enviado em toda entrega (campo validationtoken, cabeçalho x-validation-token): "
        "compare-o para saber que a entrega veio do assina.",
        "Sent with every delivery (validationtoken field, x-validation-token header): "
        "compare it to know a delivery came from assina.",
    ),
    "webhooks.reveal": ("Mostrar", "Show"),
    "webhooks.rotate_token": ("Gerar novo token", "New token"),
    "webhooks.back": ("Todos os webhooks", "All webhooks"),
    "webhooks.details": ("Dados", "Details"),
    "webhooks.disabled_reason": ("Motivo da desativação", "Why it was disabled"),
    "webhooks.edit": ("Editar", "Edit"),
    "webhooks.ping": ("Enviar teste (ping)", "Send a test (ping)"),
    "webhooks.enable": ("Ativar", "Enable"),
    "webhooks.disable": ("Desativar", "Disable"),
    "webhooks.delete": ("Excluir", "Delete"),
    "webhooks.signing_secret": ("Segredo de assinatura", "Signing secret"),
    "webhooks.signing_secret_hint": (
        "Confere a assinatura (cabeçalho webhook-signature) de cada entrega.",
        "Verifies each delivery's signature (webhook-signature header).",
    ),
    "webhooks.previous_secret_until": (
        "O segredo anterior também assina até {moment}.",
        "The previous secret also signs until {moment}.",
    ),
    "webhooks.rotate_secret": ("Gerar novo segredo", "New secret"),
    "webhooks.recover": ("Reenviar falhas", "Recover failures"),
    "webhooks.recover_since": ("Mensagens que falharam desde", "Messages failed since"),
    "webhooks.recover_hint": (
        "Ative o webhook antes: as mensagens voltam a ser enviadas desde o início do dia.",
        "Enable the webhook first: messages are sent again from the start of the day.",
    ),
    "webhooks.recover_button": ("Reenviar", "Recover"),
    "webhooks.messages": ("Mensagens", "Messages"),
    "webhooks.event": ("Evento", "Event"),
    "webhooks.attempts": ("Tentativas", "Attempts"),
    "webhooks.attempt_count": ("{count} tentativa(s)", "{count} attempt(s)"),
    "webhooks.next_attempt": ("próxima em", "next at"),
    "webhooks.actions": ("Ações", "Actions"),
    "webhooks.retry": ("Reenviar agora", "Send again now"),
    "webhooks.done.created": (
        "Webhook criado. Guarde o segredo de assinatura abaixo.",
        "Webhook created. Keep the signing secret below.",
    ),
    "webhooks.done.saved": ("Webhook salvo.", "Webhook saved."),
    "webhooks.done.pinged": (
        "Teste enviado: a entrega aparece nas mensagens.",
        "Test sent: its delivery shows among the messages.",
    ),
    "webhooks.done.enabled": ("Webhook ativado.", "Webhook enabled."),
    "webhooks.done.disabled": ("Webhook desativado.", "Webhook disabled."),
    "webhooks.done.deleted": ("Webhook excluído.", "Webhook deleted."),
    "webhooks.done.retried": ("Mensagem na fila para reenvio.", "Message queued to be sent again."),
    "webhooks.done.recovered": (
        "{count} mensagem(ns) na fila para reenvio.",
        "{count} message(s) queued to be sent again.",
    ),
    "webhooks.done.rotated": (
        "Novo segredo gerado; o anterior assina por mais 24 horas.",
        "New secret made; the previous one signs for 24 more hours.",
    ),
    "webhooks.done.token_rotated": (
        "Novo token de validação: o anterior deixou de ser enviado.",
        "New validation token: the previous one is no longer sent.",
    ),
    "webhooks.subject.customer": ("Clientes", "Customers"),
    "webhooks.subject.product": ("Produtos e serviços", "Products and services"),
    "webhooks.subject.contract": ("Contratos", "Contracts"),
    "webhooks.subject.charge": ("Cobranças", "Charges"),
    "webhooks.subject.expense": ("Despesas", "Expenses"),
    "webhooks.subject.card": ("Cartões", "Cards"),
    "webhooks.subject.order": ("Pedidos", "Orders"),
    "webhooks.subject.fiscal_invoice": ("Notas fiscais", "Service invoices"),
    "webhooks.subject.webhook": ("Webhooks", "Webhooks"),
    "webhooks.subject.endpoint": ("Endpoints", "Endpoints"),
}


def locale_of(cookie: str | None) -> Locale:
    """The language a person chose (the cookie), Portuguese unless they chose English."""
    return Locale.EN if cookie == Locale.EN.value else Locale.PT_BR


def translate(key: str, locale: Locale, **values: object) -> str:
    """The key's words in `locale`, with `{name}` filled from `values`. An unknown key raises:
    the tests render every template, so a missing word fails a test, not a page."""
    portuguese, english = MESSAGES[key]
    text = english if locale == Locale.EN else portuguese
    return text.format(**values) if values else text
