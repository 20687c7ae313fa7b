-- Whispers are rare; the memory's vector search excludes the private
-- messages of other players with NOT EXISTS over them. Without an index
-- on just those, the planner answered the anti-join with a sequential scan
-- of every message (138 ms at 100,000 messages, docs/PERFORMANCE.md
-- "Retrieval at scale"); this partial index holds only private messages.
CREATE INDEX IF NOT EXISTS messages_private_idx ON game.messages (id, private_to) WHERE visibility = 'private';
