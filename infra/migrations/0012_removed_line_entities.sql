-- Entities of the lines the clean step cut but that still say something about
-- the article (title, byline, dateline, copyright or source credit; see
-- newsflow.document.ENTITY_REASONS). They are in the document's JSON as
-- removed[i].entities, with offsets into removed[i].text; here they follow the
-- body's entities (ord after the last of Document.entities) with removed_ord = i.
-- NULL: a body entity, offsets into Document.text.

ALTER TABLE entities ADD COLUMN IF NOT EXISTS removed_ord integer;
