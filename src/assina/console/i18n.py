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
    # --- console-lists: Produtos, Contratos, Pedidos, Despesas, Notas fiscais ---
    "products.new": ("Novo produto", "New product"),
    "products.edit": ("Editar produto", "Edit product"),
    "products.description": ("Descrição", "Description"),
    "products.price": ("Preço", "Price"),
    "products.amount_hint": ("Em reais, como 1.234,56.", "In reais, as 1.234,56."),
    "products.interval": ("Periodicidade", "Interval"),
    "products.interval_count": ("A cada (quantos períodos)", "Every (how many periods)"),
    "products.trial_days": ("Dias de teste grátis", "Free trial days"),
    "interval.day": ("Diário", "Daily"),
    "interval.week": ("Semanal", "Weekly"),
    "interval.month": ("Mensal", "Monthly"),
    "interval.year": ("Anual", "Yearly"),
    "every.day": ("A cada {count} dias", "Every {count} days"),
    "every.week": ("A cada {count} semanas", "Every {count} weeks"),
    "every.month": ("A cada {count} meses", "Every {count} months"),
    "every.year": ("A cada {count} anos", "Every {count} years"),
    "contracts.new": ("Novo contrato", "New contract"),
    "contracts.contract": ("Contrato", "Contract"),
    "contracts.customer_id": ("Id do cliente", "Customer id"),
    "contracts.items": ("Itens", "Items"),
    "contracts.product": ("Produto", "Product"),
    "contracts.quantity": ("Quantidade", "Quantity"),
    "contracts.start_date": ("Início", "Start date"),
    "contracts.start_hint": ("Em branco: hoje.", "Blank: today."),
    "contracts.billing_day": ("Dia de vencimento", "Billing day"),
    "contracts.billing_day_hint": (
        "Em branco: o dia do início (planos mensais).",
        "Blank: the start's day (monthly plans).",
    ),
    "contracts.trial_hint": (
        "Em branco: o maior período de teste dos produtos.",
        "Blank: the products' longest trial.",
    ),
    "contracts.trial_end": ("Fim do teste", "Trial ends"),
    "contracts.period": ("Período atual", "Current period"),
    "contracts.cancel_at": ("Será cancelado em", "Cancels on"),
    "contracts.cancelled_at": ("Cancelado em", "Cancelled on"),
    "contracts.reason": ("Motivo", "Reason"),
    "contracts.cancel": ("Cancelar contrato", "Cancel contract"),
    "contracts.at_period_end": (
        "Só no fim do período já cobrado",
        "Only at the end of the period already charged",
    ),
    "contracts.readjust": ("Reajustar", "Readjust"),
    "contracts.percent": ("Percentual", "Percent"),
    "contracts.percent_hint": (
        "Como 4,5 — ou escolha um índice e o mês de referência.",
        "As 4.5 — or choose an index and the reference month.",
    ),
    "contracts.index": ("Índice", "Index"),
    "contracts.reference_month": ("Mês de referência", "Reference month"),
    "orders.order": ("Pedido", "Order"),
    "orders.expires_on": ("Expira em", "Expires on"),
    "orders.paid_at": ("Pago em", "Paid on"),
    "orders.fulfilled_at": ("Entregue em", "Fulfilled on"),
    "orders.fulfill": ("Marcar como entregue", "Mark as fulfilled"),
    "orders.cancel": ("Cancelar pedido", "Cancel order"),
    "expenses.new": ("Nova despesa", "New expense"),
    "expenses.expense": ("Despesa", "Expense"),
    "expenses.supplier": ("Fornecedor", "Supplier"),
    "expenses.category": ("Categoria", "Category"),
    "expenses.amount_hint": (
        "Em branco com a linha digitável: o valor do boleto.",
        "Blank with a boleto line: the boleto's amount.",
    ),
    "expenses.boleto_hint": (
        "Cole a linha do boleto: valor e vencimento vêm dela.",
        "Paste the boleto's line: amount and due date come from it.",
    ),
    "expenses.paid_at": ("Pago em", "Paid on"),
    "expenses.paid_at_hint": ("Em branco: agora.", "Blank: now."),
    "expenses.paid_amount": ("Valor pago", "Amount paid"),
    "expenses.paid_amount_hint": (
        "Em branco: o valor da despesa.",
        "Blank: the expense's amount.",
    ),
    "expenses.settle": ("Registrar pagamento", "Record payment"),
    "expense_status.open": ("Em aberto", "Open"),
    "expense_status.settled": ("Paga", "Paid"),
    "expense_status.reversed": ("Estornada", "Reversed"),
    "interval.once": ("Avulso (uma vez)", "One-off (once)"),
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
