CREATE TABLE "memory_vectors" (
	"entry_id" text NOT NULL,
	"model" text NOT NULL,
	"dims" integer NOT NULL,
	"vector" "bytea" NOT NULL,
	"entry_updated_at" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "memory_vectors_entry_id_model_pk" PRIMARY KEY("entry_id","model")
);
