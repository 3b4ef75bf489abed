"""UU PDP 27/2022 duties: retention of reports, data-subject requests, the record of processing
activities (Pasal 31) and breach support."""
