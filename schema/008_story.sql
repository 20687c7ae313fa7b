-- Story control (issue #16): regenerate, undo and fork (docs/STORY.md).
--
-- A session's history is the rows of game.messages of that session: a fork
-- copies them (copy on fork), an undo deletes them, and a DM reply that is
-- not the selected alternative of its exchange is shelved here, out of
-- game.messages, with its vectors and its sheet changes. So every reader of
-- a session's messages (the pages, the prompt, memory search, summaries,
-- exports) sees the selected history and nothing else, without a filter.

-- A DM reply that is not (any more) its exchange's selected alternative.
-- Its message keeps its id; selecting it moves it back into game.messages.
CREATE TABLE game.shelved_replies (
    message_id        uuid PRIMARY KEY,
    session_id        uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    turn_id           uuid NOT NULL REFERENCES game.turns (id) ON DELETE CASCADE,
    -- The exchange: the player message every alternative answers.
    player_message_id uuid NOT NULL,
    content           text NOT NULL,
    token_count       integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    -- [{model, embedding}] the message's vectors (pgvector text form).
    embeddings        jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- [{character_id, path, from, to, reason}] in order: the sheet changes
    -- of the alternative, reverted while it is shelved.
    changes           jsonb NOT NULL DEFAULT '[]'::jsonb,
    shelved_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shelved_replies_exchange_idx ON game.shelved_replies (player_message_id);

-- Where a fork came from.
ALTER TABLE game.sessions
    ADD COLUMN forked_from_session_id uuid REFERENCES game.sessions (id) ON DELETE SET NULL,
    ADD COLUMN forked_at_message_id   uuid;
