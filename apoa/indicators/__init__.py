"""Regional indicators (issue 15, item 3): per-kabupaten/kota figures such as population, area or
lodgings, imported from CSV by year with their units and source, and the rates the regional map
draws from them (reports per 100,000 residents, foreign guests per lodging)."""
