-- The pgvector code paths facegate uses, one step per line (a step may hold several statements). `scripts/pg start`
-- runs them in a scratch database after every start, and `scripts/pg portable` runs them in a single-user backend
-- under valgrind, which implements x86-64 up to AVX2 and hides AVX-512 from CPUID: a vector.so compiled for a newer
-- CPU than that dies here with SIGILL on any machine, instead of on the first machine without those instructions.
CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS btree_gist
CREATE TABLE probe_vectors (id integer PRIMARY KEY, embedding vector(128) NOT NULL)
INSERT INTO probe_vectors SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 128) d WHERE i IS NOT NULL)::vector FROM generate_series(1, 3000) i
INSERT INTO probe_vectors SELECT 3000 + i, (SELECT array_agg((random() * 2 - 1)::real) FROM generate_series(1, 128) d WHERE i IS NOT NULL)::real[]::vector FROM generate_series(1, 500) i
INSERT INTO probe_vectors SELECT 4000, ('[' || (SELECT string_agg((d / 128.0)::text, ',') FROM generate_series(1, 128) d) || ']')::vector
SELECT count(*) FROM probe_vectors WHERE vector_dims(embedding) = 128 AND embedding <> (SELECT embedding FROM probe_vectors WHERE id = 1)
SELECT sum(array_length(embedding::real[], 1)) FROM probe_vectors
SELECT max(embedding <=> q), max(embedding <-> q), min(embedding <#> q), max(cosine_distance(embedding, q)), max(l2_distance(embedding, q)), min(inner_product(embedding, q)), max(vector_norm(embedding)) FROM probe_vectors, (SELECT embedding AS q FROM probe_vectors WHERE id = 7) s
SELECT vector_dims(avg(embedding)), vector_dims(sum(embedding)), max(l2_normalize(embedding) <=> embedding) FROM probe_vectors
CREATE INDEX probe_vectors_hnsw ON probe_vectors USING hnsw (embedding vector_cosine_ops)
SET enable_seqscan = off; SET hnsw.iterative_scan = strict_order; SELECT id FROM probe_vectors ORDER BY embedding <=> (SELECT embedding FROM probe_vectors WHERE id = 42) LIMIT 5
DELETE FROM probe_vectors WHERE id % 7 = 0
VACUUM probe_vectors
SET enable_seqscan = off; SELECT (embedding <=> (SELECT embedding FROM probe_vectors WHERE id = 43))::real FROM probe_vectors ORDER BY embedding <=> (SELECT embedding FROM probe_vectors WHERE id = 43) LIMIT 5
DROP TABLE probe_vectors
