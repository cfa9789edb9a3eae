"""Notas fiscais de serviço (NFS-e): invoices issued through the tenant's fiscal issuer."""
