-- numbers_free (status, holder, area_code) served only the catalog's stock count and
-- the area-code list, which read the free numbers as well through the index on
-- holder (every free number has holder NULL). Every purchase and cancel moved one
-- of its entries, two index pages in each commit; without it a request spends
-- 1-3 us less in the single writer (docs/PERFORMANCE.md, session 3).
DROP INDEX IF EXISTS numbers_free;
