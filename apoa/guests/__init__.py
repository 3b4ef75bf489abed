"""Foreign guests of lodgings, companies and hosts: organisations, stays, STTPOA receipts."""
