-- Memory with more than one embedding model (issue #4).
--
-- Vectors move out of game.messages into game.message_embeddings, one row
-- per (model, message), so a new model (another provider, another
-- dimension) can be filled in beside the one being served: retrieval reads
-- the `active` model while a re-embed job writes the `building` one, then
-- both switch in one transaction. The column is an untyped `vector`; each
-- model gets a partial HNSW index on an expression cast to its dimension
-- (created when the model is registered), which is what the searcher's
-- ORDER BY names.

CREATE TABLE game.embedding_models (
    model        text PRIMARY KEY,          -- the embedder's Model(): hash-384, openai:text-embedding-3-small@1536
    provider     text NOT NULL,             -- hash, openai, replicate
    name         text NOT NULL,             -- the provider's model name
    dim          integer NOT NULL CHECK (dim BETWEEN 1 AND 2000),
    status       text NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at   timestamptz
);
-- Exactly one model is served at a time.
CREATE UNIQUE INDEX embedding_models_one_active ON game.embedding_models ((true)) WHERE status = 'active';

CREATE TABLE game.message_embeddings (
    model      text NOT NULL REFERENCES game.embedding_models (model) ON DELETE CASCADE,
    message_id uuid NOT NULL REFERENCES game.messages (id) ON DELETE CASCADE,
    -- Copied from the message so the session filter of a KNN search needs no join.
    session_id uuid NOT NULL,
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, message_id)
);
CREATE INDEX message_embeddings_session_idx ON game.message_embeddings (model, session_id);

INSERT INTO game.embedding_models (model, provider, name, dim, status, activated_at)
VALUES ('hash-384', 'hash', 'hash-384', 384, 'active', now());

INSERT INTO game.message_embeddings (model, message_id, session_id, embedding)
SELECT 'hash-384', id, session_id, embedding FROM game.messages
WHERE embedding IS NOT NULL AND coalesce(embedding_model, 'hash-384') = 'hash-384';

CREATE INDEX message_embeddings_hnsw_hash_384 ON game.message_embeddings
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE model = 'hash-384';

DROP INDEX game.messages_embedding_idx;
ALTER TABLE game.messages DROP COLUMN embedding, DROP COLUMN embedding_model;

-- A re-embed job recomputes every message's vector for a new model, in
-- batches ordered by messages.seq; cursor_seq is the last seq done, so a
-- crashed job resumes where it stopped.
CREATE TABLE game.reembed_jobs (
    id          uuid PRIMARY KEY,
    model       text NOT NULL REFERENCES game.embedding_models (model) ON DELETE CASCADE,
    from_model  text,
    status      text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    cursor_seq  bigint NOT NULL DEFAULT 0,
    done        bigint NOT NULL DEFAULT 0,
    total       bigint NOT NULL DEFAULT 0,
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX reembed_jobs_one_running ON game.reembed_jobs (model) WHERE status = 'running';
