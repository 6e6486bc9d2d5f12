# regain — build, test, run, bench.  `make help` lists the targets.
SHELL      := /bin/bash
CC         ?= cc
BUILD      ?= build
PKGS       := libh2o-evloop libjwt openssl libpq yajl libcbor libqrencode zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# h2o's evloop .pc does not select the evloop backend itself (DEPENDENCIES.md §1).
CPPFLAGS   += -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -I. $(PKG_CFLAGS)
WARN       := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
OPT        ?= -O2 -g
CFLAGS     ?= -std=c11 $(WARN) $(OPT) $(EXTRA_CFLAGS)
# Libraries without a pkg-config file (tests/fuzz/build-libfuzzer.sh reads
# this line and PKGS).
EXTRA_LIBS := -largon2 -lutf8proc -pthread -lm
LDLIBS     += $(PKG_LIBS) $(EXTRA_LIBS)

SRCDIRS    := gateway oidc scim methods providers recovery
LIB_SRC    := $(filter-out gateway/main.c,$(wildcard $(addsuffix /*.c,$(SRCDIRS))))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema.o
UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit_%)
FUZZ_SRC   := $(filter-out tests/fuzz/replay_main.c,$(wildcard tests/fuzz/*.c))
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)

.PHONY: all asan test check run clean-run bench fmt format fmt-check deps clean help unit fuzz
all: $(BUILD)/regain $(UNIT_BIN) $(FUZZ_BIN)

help:
	@echo "make          build build/regain and the tests"
	@echo "make run      install what is missing, start a private PostgreSQL and regain with demo data"
	@echo "make clean-run  delete what make run made (var/ and its database) to start afresh"
	@echo "make test     install what is missing, run every test on the normal and sanitizer builds"
	@echo "make asan     AddressSanitizer + UndefinedBehaviorSanitizer build in build/asan"
	@echo "make bench    throughput and latency figures against a bare h2o baseline"
	@echo "make fuzz     libFuzzer runs of every fuzz target (FUZZ_SECONDS each)"
	@echo "make fmt      clang-format the tree"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The SQL migrations are compiled into the binary so `regain` needs no data files.
$(BUILD)/gen/schema.c: scripts/embed-schema.sh schema $(wildcard schema/*.sql)
	@mkdir -p $(dir $@)
	@bash scripts/embed-schema.sh schema > $@

$(BUILD)/gen/schema.o: $(BUILD)/gen/schema.c
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libregain.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/regain: $(BUILD)/gateway/main.o $(BUILD)/libregain.a
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

# make bench's reference Argon2id time, through regain's own verification.
$(BUILD)/bench_argon2_time: tests/bench/argon2_time.c $(BUILD)/libregain.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/libregain.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/unit_%: tests/unit/%.c $(BUILD)/libregain.a
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/libregain.a -o $@ $(LDFLAGS) $(LDLIBS) -lcmocka

# Fuzz targets are built twice: with libFuzzer by `make fuzz`, and here with a
# small driver that replays the seed corpus during the normal test run.
$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/libregain.a
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $< tests/fuzz/replay_main.c $(BUILD)/libregain.a -o $@ $(LDFLAGS) $(LDLIBS)

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fsanitize=address,undefined" all

unit: all
	@bash tests/run-unit.sh $(BUILD)

deps:
	@bash scripts/deps.sh

test: deps
	@bash tests/run.sh

check: test

run: deps
	@bash scripts/run.sh

# Starts `make run` afresh: its database too, which pg.sh keeps under /tmp
# (var/pg/cluster a symlink to it) when the postgres user cannot reach var/.
clean-run:
	-@bash scripts/pg.sh destroy "$(CURDIR)/var/pg"
	rm -rf var

bench: deps
	@bash tests/bench/run.sh

fuzz: deps
	@bash tests/fuzz/build-libfuzzer.sh $${FUZZ_SECONDS:-30}

fmt format:
	clang-format -i $$(git ls-files '*.c' '*.h')

fmt-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
