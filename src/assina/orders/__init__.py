"""Orders (pedidos): a sale paid by its first charge, which starts contracts for its recurring
items once paid; and the checkout, which finds or makes the customer, saves a card and
charges it in one call."""
