// Package store is the cryptographic and on-disk foundation of Kustodian's
// log store: the envelope that seals every byte of customer data at rest,
// the columnar block format, immutable segment files and the write-ahead
// log, and the Engine that puts them together (WAL → buffers → segments,
// with a catalog in the metadata store). It holds no HTTP and no Key Vault
// client: AEKs arrive through the Keyring and Keys interfaces, files go
// through package vfs, and the catalog is a meta.Store.
//
// # Keys
//
// KEK (customer's vault) → AEK (32 bytes per storage account generation,
// type AEK) → DEK per sealed object:
//
//	DEK = HKDF-SHA256(AEK, salt = 32 random bytes stored with the object, info = "kustodian/dek/v1")
//
// Objects are sealed with AES-256-GCM under the DEK with a 96-bit random
// nonce. A fresh salt per object means a fresh key per object, so the GCM
// random-nonce bound applies per DEK, not per AEK. AEKs belong to the
// Keyring: the store never zeroes them, never logs them (AEK redacts itself
// in fmt and slog) and asks the Keyring again for every block it opens and
// every WAL append, so that a revocation (the key layer zeroes or withholds
// the AEK) stops reads and writes at once. Errors from the Keyring are
// wrapped with %w and pass through unchanged.
//
// # Time
//
// A DateTime is Kusto's datetime: int64 ticks of 100 ns since the Unix
// epoch, UTC, from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.9999999Z
// (package datetime); a TimeSpan is int64 ticks. Rows.TimeGenerated, Block
// time ranges, BlockMeta and SegmentMeta times and the catalog's time
// ranges are ticks; Append refuses a TimeGenerated or DateTime value
// outside the range (Block.Validate). ScanRequest and Retain take
// time.Time bounds and compare them with datetime.Bound, so any instant
// (also one outside the range) bounds correctly. SegmentWindow numbers are
// datetime.Window (floor division): segment and compaction windows are
// right and cannot overflow for any datetime, year 1 and year 9999 included.
//
// Earlier versions stored Unix nanoseconds, which wrap outside 1677-2262.
// What they wrote stays readable and reads back as ticks: v1 and v2
// segments (footer, block headers and directories, DateTime and TimeSpan
// columns), WAL rows records of version 1 and catalog segment rows without
// a version are converted as they are decoded — a DateTime rounded towards
// minus infinity (order and block ranges are kept), a TimeSpan towards
// zero. Everything written now is in ticks: v3 segments, rows records of
// version 2, catalog rows of version 2. Each unit is fixed by a version
// number that is authenticated where the data is (the footer and every
// directory repeat the segment's version and must agree with it; the rows
// record's version byte is inside the sealed WAL entry), so data cannot be
// made to read in the other unit without failing authentication. A
// catalog row is plaintext and carries its own version ("v"); a catalog
// row in the wrong unit could at worst make a scan skip or visit a block
// or retention keep or drop a segment, as any tampering with the catalog
// could. Going back to a version that reads only nanoseconds is not
// supported: it would misread the ticks.
//
// # Envelope format v1
//
//	[0:4]   magic "KSEN"
//	[4]     version 1
//	[5]     kind: 1 segment block, 2 segment footer, 3 WAL record
//	[6:10]  AEK generation (big endian) — so a reader knows which AEK to ask for
//	[10:42] HKDF salt
//	[42:54] GCM nonce
//	[54:]   ciphertext, then the 16-byte tag (70 bytes of overhead in all)
//
// AAD = "kustodian/envelope/v1\x00" ‖ bytes [0:10] (magic, version, kind,
// generation) ‖ uvarint(len(account)) ‖ account ‖ file id (16 bytes) ‖
// index (8 bytes, big endian). The account, file id and index are not stored
// in the envelope: the reader supplies where it expects the object to be, so
// a block moved to another index, swapped, copied into another segment or
// WAL file, or replayed from another storage account fails authentication.
// For a segment the file id is its random id and the index the block number
// (the footer uses index 0 with its own kind); for a WAL file the file id is
// its sequence number (8 bytes) and 8 random bytes from its header, and the
// index the record's number in the file.
//
// # Compressed body
//
// The plaintext inside block, column and WAL envelopes is: codec byte (0
// none, 1 zstd) ‖ uvarint uncompressed length ‖ data. Compression happens
// before encryption (ciphertext does not compress). v1 blocks use zstd's
// default level, v2 columns its better level (which, unlike the faster
// levels, entropy-codes the byte planes of dictionary indexes and numbers;
// a column zstd cannot shrink, such as random ids, is stored with codec 0),
// WAL records its fastest level. Uncompressed bodies are bounded to 256 MiB.
//
// # Block format v1 (see Block.marshal; WAL records and v1 segments)
//
// "KSBL", version 1, row count, min and max TimeGenerated (in the unit of
// the container: ticks in WAL rows records of version 2, Unix nanoseconds
// in rows records of version 1 and v1 segments), then per column
// its name, type and encoded data (null bitmap; ints plain or delta zigzag
// varints, whichever is smaller; floats as 8-byte IEEE 754; bools as a
// bitmap; strings plain or with a dictionary when there are at most
// min(65536, rows/2) distinct values). Column names and types exist only
// inside the encrypted block. Every block must have a non-null DateTime
// column TimeGenerated.
//
// # Block format v2 (segments of versions 2 and 3; see block2.go and column2.go)
//
// A v2 block is a directory envelope (kind 4) followed by one sealed column
// per column, so a query decrypts, decompresses and decodes only the columns
// it needs, and a count reads only directories. The directory holds its
// version (the segment's: 3, whose times are ticks, or 2, whose times are
// Unix nanoseconds), the row count, time range and per column its name,
// type and sealed length; its salt derives the block's one DEK (DESIGN.md:
// a DEK per block). Each column
// is nonce ‖ AES-256-GCM ciphertext ‖ tag under that DEK, with AAD =
// "kustodian/column/v1\x00" ‖ "KSEN" ‖ 1 ‖ 5 ‖ generation ‖ account ‖
// segment id ‖ block index ‖ column index: a column swapped with another,
// moved to another block, segment or account fails authentication. Columns
// are encoded for an entropy coder: ints as frame-of-reference values or
// deltas split into byte planes; reals that are exact decimals (up to six
// places, as JSON numbers usually are) as scaled ints, others as IEEE bits
// in planes; strings with a sorted dictionary, as bytes when all are
// lowercase hex (trace and span ids), else lengths then bytes. On the
// genlogs workload a read of every column takes about 105 ns per row
// against about 190 for v1 (BenchmarkSegmentRead, BenchmarkBlock), one
// column about 4 ns, and storage falls from about 39 to about 33 bytes per
// line.
// With up to 64 columns per block and blocks of up to 65536 rows, the
// random-nonce count per DEK stays tiny.
//
// # Value filters (block format v4)
//
// A v4 block directory adds, after its columns, a list of value filters —
// one bloom filter per string column holding every distinct value of the
// column in the block (8 bits per value, 5 probes: about 2% false
// positives; none for free text, whose values mostly hold spaces) — and
// the sealed filters follow the sealed columns. A filter
// is a function of the plaintext, so it is sealed like a column: under the
// block's DEK, AAD "kustodian/filter/v1\x00" ‖ "KSEN" ‖ 1 ‖ 6 ‖ generation ‖
// account ‖ segment id ‖ block index ‖ column index (see block2.go and
// filter.go for the layouts). A scan given equalities (ScanRequest.Equal)
// opens the directory and the filter of each predicate's column with the
// live AEK and skips the block when a filter rules the value out; a
// filter that fails authentication or decoding fails the scan. Filters
// cost about 1.9 bytes per genlogs line (BenchmarkSegmentBytesPerLine).
//
// # Segment format (v4; v1, v2 and v3 still read)
//
//	header  (24 bytes, plaintext): "KSSG", version 4, 3 zero bytes, segment id (16)
//	blocks  v2 blocks with directories of version 4 (v3: 3, v2: 2; v1:
//	        sealed envelopes of kind 1), index 0, 1, 2, … back to back
//	footer  sealed envelope of kind 2: "KSFT", version 4, workspace, table,
//	        block count, per block offset, length, directory length (v2
//	        to v4), rows, min/max time (ticks; v1 and v2: Unix ns)
//	trailer (16 bytes, plaintext): footer offset (8, BE), footer length (4, BE), "KSSE"
//
// The segment, footer and directory versions must agree. v3 differs from
// v2 only in the unit of its times, v4 from v3 only in its blocks' value
// filters. New segments are always v4; testdata holds frozen v1, v2 and v3
// segments that every later version must open (v1 and v2 read as ticks),
// and the v3 and v4 golden segments hold year 1 and year 9999.
//
// A segment is written to path+".tmp", fsynced, renamed into place and the
// directory fsynced: it exists completely or not at all. The reader checks
// the header (magic, version, zero reserved bytes, the segment id the caller
// expects), that the trailer points exactly at the footer before it, that
// the authenticated footer's blocks tile the file between header and footer
// with no gaps, and that each decrypted block's rows and time range match its
// footer entry (for v2: that the directory's columns tile the block). Any
// failure is an error wrapping ErrCorrupt (or
// ErrUnknownVersion); data that fails a check is never returned.
//
// # Plaintext metadata (a decision DESIGN.md leaves open)
//
// The catalog entry (SegmentMeta, BlockMeta) carries per-block and
// per-segment min/max TimeGenerated (ticks), row counts, offsets and sizes
// in plaintext, and the caller may store them so. This is accepted: it is time
// and volume metadata, not content — the file system already reveals when
// and how much was written (file times and sizes), and the catalog needs it
// to prune queries by time and to apply retention (purging whole blocks and
// segments) while a key is revoked or unavailable, which must not require
// the customer's key. Column names, values and the table name stay inside
// encrypted blocks and the encrypted footer; SegmentMeta returns Workspace
// and Table to the caller, who must store ids, not customer-chosen names, in
// plaintext. The same times are also inside each encrypted block header and
// the footer, where they are authenticated; a tampered catalog can at worst
// make a query skip or visit a block, never return wrong data.
//
// # WAL format v1
//
// One WAL per storage account, a directory of files named
// "%016x.wal" by sequence number. A file is a 24-byte header ("KSWL",
// version 1, 3 zero bytes, sequence number (8, BE), 8 random bytes) and
// frames:
//
//	[0:4]  length n of the sealed record (BE)
//	[4:8]  CRC-32C of bytes [0:4]
//	[8:12] CRC-32C of the sealed record
//	[12:]  sealed envelope of kind 3 whose body holds the records of one
//	       Append: uvarint count, then uvarint length + bytes per record
//
// Append seals and writes under a mutex and then waits for durability; the
// first waiter to take the sync lock fsyncs everything written so far, so
// concurrent appenders share one fsync (group commit). Append returns nil
// only after its record is fsynced. A failed write or fsync poisons the WAL
// (every later call fails; the caller reopens and replays): after a failed
// fsync the kernel may have dropped the dirty pages, so retrying is unsafe.
// A new file's header and directory entry are made durable before any record
// goes into it; rotation fsyncs the old file first.
//
// Replay reads all files in order. In the last file only, a torn tail — a
// partial frame header, a record longer than what remains, a zeroed tail, or
// a checksum mismatch in the final record where a 512-byte sector of it
// reads back as zeros (a sector that never reached the disk) — is truncated
// (logged with slog) and replay ends there. Anything else (a bad length
// checksum or record checksum followed by more data, a complete final
// record with changed bytes, an authentication failure, damage in an
// earlier file) is an error wrapping ErrCorrupt, never skipped: a record
// that was acknowledged was fsynced whole, so only tampering or bit rot can
// alter it. Removing whole records from the end of the last file, or
// zeroing part of the last record, cannot be told apart from a crash and is
// not detected.
//
// Flushing protocol: Rotate returns the sequence number of the new file;
// every Append that returned before Rotate was called lies in older files;
// once the caller has made all of them durable in segments and the catalog
// it calls RemoveBefore(seq). The caller must record the flushed sequence
// number in its metadata and refuse to replay files below it: an attacker
// who restores an old, already-flushed WAL file under its own name could
// otherwise make its records appear twice (they still authenticate).
//
// # Engine
//
// Layout: {Dir}/{account}/wal/%016x.wal and {Dir}/{account}/segments/{id}.seg,
// the account id escaped into one path element (bytes other than
// [A-Za-z0-9_-] become %XX; the same escaped form prefixes the account's
// catalog keys). One WAL per storage account; one buffer per (account,
// workspace, table); one segment per (account, workspace, table,
// SegmentWindow of TimeGenerated) per flush, in blocks of at most 65536 rows.
// A segment belongs to one account and one AEK generation.
//
// Append validates (equal lengths, TimeGenerated only in
// Rows.TimeGenerated, every datetime within Kusto's range, no column whose
// type differs from the type already known for the table in that account),
// encodes each Rows as one WAL rows record (version byte 2, uvarint length
// + workspace, uvarint length + table, then the block format v1 above with
// times in ticks, uncompressed — the WAL compresses the record; records of
// version 1, written by earlier versions, hold Unix nanoseconds and are
// converted on replay),
// appends them as one group-committed WAL entry sealed under the account's
// current generation (Keys.WriteAEK), and only then buffers them. Nil means
// fsynced. An account that MoveAccount is moving away (or has moved) takes
// no Appends: they fail with ErrAccountMoving and write nothing.
//
// Catalog (meta docs, keys prefixed "{account}/"):
//
//	store.account    {account}                        account id, WAL floor
//	store.placement  {account}/{workspace}            the account holds data of the workspace
//	store.segment    {account}/{ws}/{tableid}/{seg}   "v":2, account, workspace, table id, segment id,
//	                                                  generation, min/max time (ticks), rows, size,
//	                                                  WAL floor of its flush (0 if moved from
//	                                                  another account), per-block offset,
//	                                                  length, rows, min/max time
//	store.table      {account}/{ws}/{tableid}         sealed schema (below) and its generation
//	store.wsdrop     {account}/{ws}                   tombstone: WAL sequence at DropWorkspace
//
// Segment rows written by earlier versions have no "v" and their times in
// Unix nanoseconds; they are converted to ticks when the catalog is read
// (a migration without a rewrite: no transaction, nothing to crash in the
// middle of) and replaced, in ticks, when compaction or a move rewrites
// their segment; retention and drops delete them as they are.
//
// The table id is hex(HMAC-SHA256(TableIDKey, workspace ‖ 0x00 ‖ table))[:32]
// (128 bits). It hides table names from anyone without TableIDKey; an
// operator holding the master key (from which the lead derives TableIDKey)
// can test guesses of table names. That is accepted: table names are schema,
// not content, and the operator already sees volumes and times. Workspace
// ids are GUIDs the platform assigns, account ids are the platform's own.
//
// Table and column names and types live only in segment blocks, WAL records
// and sealed schema documents: JSON {name, columns} sealed with AES-256-GCM
// under HKDF-SHA256(AEK, salt = none, info = "kustodian/schema/v1"), a
// random 96-bit nonce stored first, AAD = "kustodian/schema/v1\x00" ‖
// uvarint-length-prefixed account ‖ uvarint-length-prefixed workspace ‖
// table id. Schemas are re-sealed under the current generation at every
// flush that touches the table (a few writes per table per flush, far below
// the random-nonce bound). A revoked account's table names cannot be read.
//
// Flush (per account, one at a time): under the account's write lock —
// which waits for Appends in flight, so every acknowledged record is either
// buffered or not yet written — rotate the WAL (new file S) and freeze the
// buffers; then, without the lock, write segments sealed under the
// generation current at flush time (records sealed under an older
// generation are thereby re-sealed under the newer one: intended, it moves
// data forward to the newest key), then ONE catalog transaction with all
// segment rows, the sealed schemas and the account's WAL floor = S; then, under
// the lock, publish the segments and drop the frozen buffers (a Scan sees
// either the frozen buffers or the segments, never both or neither); then
// remove WAL files below S. Flush is idempotent across crashes: before the
// commit, the segments are orphans (load deletes every segment file the
// catalog does not list) and the WAL still holds everything; after it,
// replay skips (and load deletes) WAL files below the floor. This also
// refuses an old, already-flushed WAL file restored by an attacker. A failed
// flush keeps its frozen buffers for the next one. When its catalog
// transaction reports an error, the flush reads the WAL floor back: not
// moved, it removes its segments; moved (a lost reply), it carries on as
// committed; unreadable, it keeps its files (a reload does not treat them
// as orphans) and the account's flushes stop until a restart reads the
// catalog's truth — the WAL keeps every record meanwhile.
//
// Loading an account (OpenEngine, Recover, or the first Append): ask
// Keys.WriteAEK first — if refused, the account stays "not loaded" and
// nothing is read or deleted; else open the sealed schemas, delete orphan
// segments, remove WAL files below the floor, replay the rest into buffers
// (skipping records of dropped workspaces). The plaintext catalog of every
// account (segments, placements, tombstones) is read at open without keys,
// so retention and drops work while a key is refused, and Scan/Tables know
// which accounts hold a workspace: if one of them is not loaded or its key is
// refused, they fail with that error (wrapping ErrNotLoaded and the key
// layer's error) instead of returning partial data. Recover, called after
// each key refresh, loads accounts whose key is back and unloads accounts
// whose key is now refused (dropping their plaintext buffers; the WAL keeps
// the data). Buffered rows are plaintext in memory — not data at rest.
//
// Scan visits every account holding the workspace: catalog segments pruned
// by segment and block time ranges, then frozen and live buffers; it reads
// only TimeGenerated and the requested columns and filters rows to [TimeMin,
// TimeMax) (compared in ticks, see Time). Blocks are read, decrypted,
// decoded and filtered by a bounded pool of jobs (as many as GOMAXPROCS,
// at least two) and returned in order. With RowsOnly, a segment block
// wholly inside the range is answered from the segment footer, which is
// authenticated with the live AEK as the segment is opened; with OmitTime
// such a block comes without TimeGenerated; with Equal, blocks whose value
// filters rule a predicate out are skipped, and a block that is read has
// its equality column matched as it is decoded (a dictionary on its
// indexes, hex ids on their bytes) and its other columns cut down to the
// matching rows.
//
// The authenticated footer and the value filters a scan opened are kept in
// memory with the segment's catalog entry (memory is not data at rest);
// a later count or needle uses them only after the keyring has given the
// segment's AEK again, so a revoked key still answers nothing, and the
// filters are dropped when the account is unloaded. It takes its sources while holding the read locks of all
// accounts together (in order of account name; if an account was created
// meanwhile it starts again), so that a MoveAccount commit, which holds the
// write locks of its two accounts, is wholly before or after it: every row
// is seen once. A dropped account is skipped, and so is the key check of an
// account moved away that gives the scan nothing. Retain deletes whole
// segments whose max time is before the cut (catalog first, files second).
// DropWorkspace deletes segments, schemas and placements and writes a
// tombstone so that the workspace's records still in a WAL are not replayed;
// DropAccount deletes the account's catalog rows, then its files.
//
// # Segment lifetimes and compaction
//
// Every in-memory catalog entry of a segment counts its holders: one for
// the catalog while the segment is listed, plus one per reader — a Scan
// iterator takes one (while holding the account's lock, so the segment is
// certainly listed) on every segment it will read and drops it when it
// moves past that segment or is closed (or, if dropped without Close, when
// it is garbage collected); a compaction or a move takes one on each input.
// Retain, DropWorkspace, DropAccount and a compaction's or move's commit
// remove segments from the catalog (one transaction) and then drop the
// catalog's reference;
// whoever drops the last one deletes the file. So a scan never meets a
// missing file, and a segment removed while no one reads it is deleted at
// once. For crypto-shredding this means: after DropAccount or DropWorkspace
// returns, no new scan sees the data; scans opened before may finish
// reading it (as far as the keys allow) and its files are gone when the
// last of them is closed. Files left by a crash (between a catalog commit
// and the deletion, or before a commit) are listed by no catalog entry and
// deleted when the account is next loaded; load keeps only files that are
// catalogued, still read, or being written by a compaction or a move.
//
// Compaction (Engine.Compact; Run calls it every CompactInterval, default
// five minutes, never when negative) merges small segments — fewer than
// CompactMinRows rows, default half a block — of one account, workspace,
// table id and SegmentWindow, and of the account's current AEK generation,
// in groups of at least two and at most CompactMaxRows rows (default two
// blocks, which bounds the memory of the in-memory merge). It never mixes
// accounts, workspaces, tables or windows, and never rewrites segments of an
// older generation: data stays under the key it was written under (an
// account whose write key is refused, or that is not loaded, is skipped and
// nothing of it is read or written). A group's blocks are read with all
// columns into one buffer (columns missing from some inputs are null in
// their rows; inputs that disagree on a column's type are left alone rather
// than merged with a column dropped), sorted by TimeGenerated (stable,
// inputs in flush order), and written as a new segment (new id, blocks of at
// most 65536 rows, sealed under the current generation, ".tmp" then rename)
// — plaintext only ever in memory.
//
// Locking: one compaction per account at a time (its own mutex); reading
// and writing hold no account lock, so Append, Scan and flush go on. The
// output's file name is registered with the account while it is written,
// so that a reload's orphan removal and DropAccount leave it to the
// compaction. The commit, under the account's write lock, checks that the
// account is still loaded and not dropped and that every input is still
// catalogued (a concurrent Retain, DropWorkspace or DropAccount wins: the
// group is abandoned and its output deleted), then runs ONE catalog
// transaction that puts the new segment row and deletes the inputs' rows,
// and swaps the in-memory list. Flushes need no exclusion: they only add
// segment rows and move the WAL floor, which compaction never touches.
//
// WAL: replay depends only on the account's WAL floor, which compaction
// does not change; every row it rewrites was already in a committed
// segment, so no WAL record is replayed twice or skipped. The new row's
// WALSeq is the largest of its inputs' (informational).
//
// Crash safety: before the commit the output (or its ".tmp") is an orphan
// and the inputs are intact; after it the inputs are orphans. If the
// catalog transaction reports an error, the catalog is read back: not
// committed → the output is deleted; committed (a lost reply) → carried
// on; unknown → the output file is kept until restart (the next load keeps
// whichever side the catalog lists), the account's compaction stops until
// then, and DropWorkspace deletes the workspace's segment rows by key
// prefix so that such a row cannot outlive a drop.
//
// Merging rows of the same window means Retain can only delete them when
// the whole merged segment is past the cut (at most one SegmentWindow
// later than before). Engine.Stats returns cumulative counters (passes,
// errors, segments in and out, rows, bytes) for the server to export.
//
// # Moving an account's data
//
// Engine.MoveAccount(from, to) moves everything of one account into
// another, exactly once; the server uses it to put an outage buffer (under
// the platform key) under its cluster's customer key, then drops the
// buffer and destroys its keys. It is the cross-account cousin of
// compaction:
//
//  1. Keys first: to's write key and every generation from's segments are
//     under; if one is refused, nothing changes. A column whose type in to
//     differs from from's fails the move here too.
//  2. from is closed: under its write lock (which waits for Appends in
//     flight) it is marked moving; later Appends fail with
//     ErrAccountMoving (the server answers 503, or writes to to when its
//     key is back). The mark is in memory only: a restart opens from again
//     and the server runs the move again. A failed move clears it; a
//     successful one keeps it until the caller drops from.
//  3. from is flushed: all its rows are in catalogued segments.
//  4. In batches of segments (at most 64 or 256 MiB): each segment is read
//     block by block with all columns under from's keys and written as a
//     new segment of to under to's current write key (same workspace,
//     table id, blocks and time range; ".tmp", rename; registered with to
//     like a compaction's output). Then the commit, holding to's flushMu
//     (so no flush of to seals an older schema over the new one) and the
//     write locks of both accounts (in order of name): it re-checks that
//     every input is still listed (a concurrent Retain wins: the batch is
//     deleted and planned again) and the column types against what to
//     knows now, runs ONE catalog transaction — check that from's segment
//     rows exist, delete them, put the copies' rows, to's sealed schemas
//     (the union of to's columns and the moved ones, under to's key) and
//     to's placement of each workspace — and swaps the in-memory lists.
//     A DropWorkspace waits for the batch in progress, and later batches
//     for it (Engine.dropMu), so a move cannot copy a workspace into an
//     account the drop has already passed.
//
// Crash safety is compaction's: before a commit the copies are orphans of
// to and from is intact, so the next MoveAccount moves that batch again;
// after it from's files are the orphans; the next load deletes orphans.
// Each row is therefore in exactly one account at every point. A commit
// whose outcome is unknown (the transaction errs and reading it back
// fails) keeps the copies until a restart and refuses further moves out of
// from until then. A scan opened before a commit reads from's files to the
// end; they are deleted when it lets go.
//
// Lock order: within an account compactMu (one compaction or move out of
// the account at a time), flushMu, mu, bufMu, with refMu a leaf; across
// accounts the source's compactMu, then dropMu, then the target's flushMu,
// then the mu of each account in order of name. Scan takes read locks only
// in that order, and no one takes a compactMu or flushMu while holding an
// account's mu, so neither Scan nor a move can deadlock with flush,
// compaction, Recover or each other.
//
// # Not yet done
//
// Caches. Sorting rows by time inside a segment
// written by a flush (compaction sorts). A WAL poisoned by a failed write
// or fsync makes the account's Appends fail until the engine is reopened.
// DropAccount leaves the empty directories (vfs has no directory removal).
package store
