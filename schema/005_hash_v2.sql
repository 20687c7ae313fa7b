-- The stemmed hash embedder (hash-384-v2) is the default model. A database
-- that has no vectors yet starts on it directly; one that has vectors keeps
-- hash-384 active, and conquest re-embeds into hash-384-v2 in the background
-- (the re-embed workflow), serving hash-384 until the new vectors are complete.
UPDATE game.embedding_models SET status = 'retired', retired_at = now()
WHERE model = 'hash-384' AND status = 'active'
  AND NOT EXISTS (SELECT 1 FROM game.message_embeddings);

INSERT INTO game.embedding_models (model, provider, name, dim, status, activated_at)
SELECT 'hash-384-v2', 'hash', 'hash-384-v2', 384, 'active', now()
WHERE NOT EXISTS (SELECT 1 FROM game.embedding_models WHERE status = 'active');

CREATE INDEX IF NOT EXISTS message_embeddings_hnsw_hash_384_v2 ON game.message_embeddings
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE model = 'hash-384-v2';
