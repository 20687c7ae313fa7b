-- Rolling summaries (issue #17): the owner's own text, kept verbatim at the
-- head of the summary while the summary task rolls the rest forward.
ALTER TABLE game.session_summaries ADD COLUMN owner_text text NOT NULL DEFAULT '';
