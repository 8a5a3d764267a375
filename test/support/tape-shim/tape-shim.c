/*
 * tape-shim.c — an LD_PRELOAD library for tests: it makes paths
 * /dev/nst-cairn-NAME behave like Linux st no-rewind tape devices whose tape
 * is the vtape file $CAIRN_TAPE_SHIM_DIR/NAME (the format of
 * sd/device/vtape-format.ts, so VtapeDrive and this shim share media).
 *
 * It intercepts open/open64/openat/openat64 (and the _FORTIFY_SOURCE
 * variants), read, write, ioctl(MTIOCTOP, MTIOCGET, MTIOCPOS) and close,
 * and answers them with st's semantics, errno for errno — the same rules as
 * sd/device/vtape-st.ts (read that file for the st.c references). Every
 * other fd and path goes to libc untouched. A missing vtape file is a drive
 * without a tape (ENOMEDIUM; with O_NONBLOCK the open succeeds, DR_OPEN).
 * Drives named slow-* rewind in CAIRN_TAPE_SHIM_SLOW_REWIND_MS (a test knob).
 *
 * Built by the test setup (test/support/tape-shim.ts) with
 *   cc -shared -fPIC -O2 -o libcairn-tape-shim.so tape-shim.c -ldl -lpthread
 * Test support only: never installed, never loaded by Cairn itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define PREFIX "/dev/nst-cairn-"
#define HEADER_SIZE 512
#define REC_SIZE 16
#define REC_BLOCK 0x4b4c4256u
#define REC_FILEMARK 0x4d465456u
#define REC_EOD 0x444f4556u
#define NO_PREV 0xffffffffu
#define CHECK_XOR 0x9e3779b9u
#define FILEMARK_RESERVE (64 * REC_SIZE)

/* st's eof states, in st.h's order */
enum { NOEOF, FM_HIT, FM, EOM_OK, EOM_ERROR, EOD_1, EOD_2, EOD };
enum { RW_IDLE, RW_READING, RW_WRITING };
enum { K_BLOCK, K_FILEMARK, K_EOD };

struct unit {
  char name[256];
  char file[PATH_MAX];
  int in_use, loaded, new_session, ready;
  int eof, rw;
  long drv_file, drv_block;
  int block_size, write_prot, drv_write_prot;
  /* head, kept across opens */
  int64_t pos, index;
  uint32_t prev;
  /* medium while open */
  int mfd;
  int64_t file_size, capacity, early_warning;
  uint32_t min_block, max_block;
  int hdr_write_protected;
};

struct handle {
  int fd;
  struct unit *u;
  int read_only, nonblock;
};

#define MAX_UNITS 64
#define MAX_FDS 4096
static struct unit units[MAX_UNITS];
static int nunits;
static struct handle *volatile by_fd[MAX_FDS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);

__attribute__((constructor)) static void shim_init(void) {
  real_open = dlsym(RTLD_NEXT, "open");
  real_openat = dlsym(RTLD_NEXT, "openat");
  real_read = dlsym(RTLD_NEXT, "read");
  real_write = dlsym(RTLD_NEXT, "write");
  real_ioctl = dlsym(RTLD_NEXT, "ioctl");
  real_close = dlsym(RTLD_NEXT, "close");
}

static struct handle *handle_of(int fd) {
  if (fd < 0 || fd >= MAX_FDS) return NULL;
  return __atomic_load_n(&by_fd[fd], __ATOMIC_ACQUIRE);
}

/* ---- little-endian helpers and the vtape format ---- */

static uint32_t get32(const unsigned char *b) { return b[0] | (b[1] << 8) | (b[2] << 16) | ((uint32_t)b[3] << 24); }
static uint64_t get64(const unsigned char *b) { return get32(b) | ((uint64_t)get32(b + 4) << 32); }
static void put32(unsigned char *b, uint32_t v) {
  b[0] = v & 0xff;
  b[1] = (v >> 8) & 0xff;
  b[2] = (v >> 16) & 0xff;
  b[3] = (v >> 24) & 0xff;
}
static void encode_rec(unsigned char *b, uint32_t type, uint32_t len, uint32_t prev) {
  put32(b, type);
  put32(b + 4, len);
  put32(b + 8, prev);
  put32(b + 12, type ^ len ^ prev ^ CHECK_XOR);
}

/* Reads the record header at pos; returns kind and length (a torn or foreign tail is end of data). */
static int rec_at(struct unit *u, int64_t pos, uint32_t *len, uint32_t *prev) {
  unsigned char b[REC_SIZE];
  *len = 0;
  if (pos + REC_SIZE > u->file_size) return K_EOD;
  if (pread(u->mfd, b, REC_SIZE, pos) != REC_SIZE) return K_EOD;
  uint32_t type = get32(b), l = get32(b + 4), p = get32(b + 8);
  if (get32(b + 12) != (type ^ l ^ p ^ CHECK_XOR)) return K_EOD;
  if (prev) *prev = p;
  if (type == REC_BLOCK) {
    if (pos + REC_SIZE + (int64_t)l > u->file_size) return K_EOD;
    *len = l;
    return K_BLOCK;
  }
  if (type == REC_FILEMARK && l == 0) return K_FILEMARK;
  return K_EOD;
}

static int medium_open(struct unit *u, int writable) {
  int fd = real_open(u->file, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return -1;
  unsigned char h[HEADER_SIZE];
  struct stat st;
  if (pread(fd, h, HEADER_SIZE, 0) < 44 || memcmp(h, "CAIRNVT1", 8) != 0 || get32(h + 8) != 1 || get32(h + 12) != HEADER_SIZE ||
      fstat(fd, &st) != 0) {
    real_close(fd);
    errno = EIO;
    return -1;
  }
  u->mfd = fd;
  u->file_size = st.st_size;
  u->capacity = (int64_t)get64(h + 16);
  u->early_warning = (int64_t)get64(h + 24);
  u->min_block = get32(h + 32);
  u->max_block = get32(h + 36);
  u->hdr_write_protected = (get32(h + 40) & 1) != 0;
  return 0;
}

static void medium_close(struct unit *u) {
  if (u->mfd >= 0) real_close(u->mfd);
  u->mfd = -1;
}

static void head_rewind(struct unit *u) {
  u->pos = HEADER_SIZE;
  u->prev = NO_PREV;
  u->index = 0;
}
static int64_t used(struct unit *u) { return u->pos - HEADER_SIZE; }
static int past_ew(struct unit *u) { return used(u) > u->capacity - u->early_warning; }

static void step_forward(struct unit *u, uint32_t len) {
  u->pos += REC_SIZE + len;
  u->prev = len;
  u->index++;
}

/* Steps back over the record before the head: K_BLOCK, K_FILEMARK, or -1 at BOT. */
static int step_back(struct unit *u) {
  if (u->prev == NO_PREV || u->pos <= HEADER_SIZE) return -1;
  int64_t at = u->pos - REC_SIZE - u->prev;
  uint32_t len, prev = NO_PREV;
  int k = rec_at(u, at, &len, &prev);
  if (k == K_EOD) return -1;
  u->pos = at;
  u->prev = prev;
  u->index--;
  return k;
}

/* Writes blocks (sizes[i] bytes from data) or filemarks (data NULL), then the EOD marker; cuts what followed. */
static int write_records(struct unit *u, const uint32_t *sizes, int n, const unsigned char *data, int *written, int *eom, int *overflow) {
  int64_t limit = data ? u->capacity : u->capacity + FILEMARK_RESERVE;
  int64_t use = used(u), off = 0;
  uint32_t prev = u->prev;
  int k = 0;
  *overflow = 0;
  struct iovec *iov = calloc((size_t)n * 2 + 1, sizeof(struct iovec));
  unsigned char *hdrs = malloc((size_t)(n + 1) * REC_SIZE);
  if (!iov || !hdrs) {
    free(iov);
    free(hdrs);
    errno = ENOMEM;
    return -1;
  }
  int niov = 0;
  for (; k < n; k++) {
    uint32_t len = sizes[k];
    if (use + REC_SIZE + (int64_t)len > limit) {
      *overflow = 1;
      break;
    }
    encode_rec(hdrs + k * REC_SIZE, data ? REC_BLOCK : REC_FILEMARK, len, prev);
    iov[niov].iov_base = hdrs + k * REC_SIZE;
    iov[niov++].iov_len = REC_SIZE;
    if (data && len) {
      iov[niov].iov_base = (void *)(data + off);
      iov[niov++].iov_len = len;
    }
    off += len;
    use += REC_SIZE + len;
    prev = len;
  }
  int rc = 0;
  if (k > 0) {
    encode_rec(hdrs + n * REC_SIZE, REC_EOD, 0, prev);
    iov[niov].iov_base = hdrs + n * REC_SIZE;
    iov[niov++].iov_len = REC_SIZE;
    int64_t at = u->pos;
    int i = 0;
    while (i < niov) {
      ssize_t w = pwritev(u->mfd, iov + i, niov - i > IOV_MAX ? IOV_MAX : niov - i, at);
      if (w < 0) {
        if (errno == EINTR) continue;
        rc = -1;
        break;
      }
      at += w;
      while (i < niov && (size_t)w >= iov[i].iov_len) w -= iov[i++].iov_len;
      if (i < niov && w > 0) {
        iov[i].iov_base = (char *)iov[i].iov_base + w;
        iov[i].iov_len -= w;
      }
    }
    if (rc == 0) {
      int64_t end = HEADER_SIZE + use + REC_SIZE;
      if (u->file_size > end && ftruncate(u->mfd, end) != 0) rc = -1;
      u->file_size = end;
      u->pos = HEADER_SIZE + use;
      u->prev = prev;
      u->index += k;
    }
  }
  free(iov);
  free(hdrs);
  if (rc != 0) {
    errno = EIO;
    return -1;
  }
  *written = k;
  *eom = *overflow || past_ew(u);
  return 0;
}

/* ---- st ---- */

static int fail(int e) {
  errno = e;
  return -1;
}

static void flush_buffer(struct unit *u, int seek_next) {
  if (!u->ready || u->rw == RW_WRITING || u->block_size == 0) return;
  if (!seek_next) {
    if (u->eof == FM_HIT) {
      step_back(u);
      u->eof = NOEOF;
    }
  } else if (u->eof == FM_HIT) {
    if (u->drv_file >= 0) u->drv_file++;
    u->drv_block = 0;
    u->eof = NOEOF;
  }
}

static int rw_checks(struct unit *u, size_t count) {
  if (!u->ready) return fail(u->loaded ? EIO : ENOMEDIUM);
  if (count == 0) return 0;
  if (u->block_size == 0 && (count < u->min_block || count > u->max_block)) return fail(EINVAL);
  return 0;
}

static ssize_t st_write(struct handle *hd, const unsigned char *buf, size_t count) {
  struct unit *u = hd->u;
  if (rw_checks(u, count) < 0) return -1;
  if (count == 0) return 0;
  if (u->block_size != 0 && count % u->block_size != 0) return fail(EINVAL);
  if (u->write_prot) return fail(EACCES);
  if (u->rw == RW_READING) {
    flush_buffer(u, 0);
    u->rw = RW_WRITING;
  }
  if (u->eof == EOM_OK) {
    u->eof = EOD_1;
    return fail(ENOSPC);
  }
  if (u->eof == EOM_ERROR) return fail(EIO);
  u->rw = RW_WRITING;
  int n = u->block_size == 0 ? 1 : (int)(count / u->block_size);
  uint32_t *sizes = malloc(sizeof(uint32_t) * n);
  if (!sizes) return fail(ENOMEM);
  for (int i = 0; i < n; i++) sizes[i] = u->block_size == 0 ? (uint32_t)count : (uint32_t)u->block_size;
  int written, eom, overflow;
  int rc = write_records(u, sizes, n, buf, &written, &eom, &overflow);
  free(sizes);
  if (rc < 0) return -1;
  size_t bytes = u->block_size == 0 ? (written > 0 ? count : 0) : (size_t)written * u->block_size;
  if (!eom) {
    if (u->drv_block >= 0) u->drv_block += u->block_size == 0 ? 1 : written;
    if (u->eof == EOD_1) u->eof = EOM_OK;
    else if (u->eof != EOM_OK) u->eof = NOEOF;
    return (ssize_t)count;
  }
  u->eof = EOM_OK;
  if (u->drv_block >= 0) u->drv_block += u->block_size == 0 ? (bytes > 0 ? 1 : 0) : written;
  if (bytes > 0) return (ssize_t)bytes;
  return fail(ENOSPC);
}

/* BLANK CHECK: 0 bytes for the first read after a filemark, else EIO. */
static int blank_check(struct unit *u) {
  u->drv_block = -1;
  if (u->eof == FM) {
    u->eof = EOD_2;
    return 0;
  }
  return fail(EIO);
}

static ssize_t read_tape(struct unit *u, unsigned char *buf, size_t count) {
  if (u->eof == FM_HIT) return 0;
  ssize_t bytes = 0;
  uint32_t len;
  if (u->block_size == 0) {
    int k = rec_at(u, u->pos, &len, NULL);
    if (k == K_BLOCK) {
      if (count < len) {
        step_forward(u, len);
        if (u->drv_block >= 0) u->drv_block += 1;
        return fail(ENOMEM);
      }
      if (len > 0 && pread(u->mfd, buf, len, u->pos + REC_SIZE) != (ssize_t)len) return fail(EIO);
      step_forward(u, len);
      bytes = len;
    } else if (k == K_FILEMARK) {
      step_forward(u, 0);
      u->eof = u->eof != FM_HIT ? FM_HIT : EOD_2;
    } else if (blank_check(u) < 0) {
      return -1;
    }
  } else {
    size_t want = count / u->block_size, k = 0;
    for (; k < want; k++) {
      int kind = rec_at(u, u->pos, &len, NULL);
      if (kind == K_BLOCK && len == (uint32_t)u->block_size) {
        if (pread(u->mfd, buf + k * u->block_size, len, u->pos + REC_SIZE) != (ssize_t)len) return fail(EIO);
        step_forward(u, len);
        continue;
      }
      if (kind == K_FILEMARK) {
        step_forward(u, 0);
        u->eof = u->eof != FM_HIT ? FM_HIT : EOD_2;
        break;
      }
      if (kind == K_EOD) return blank_check(u) < 0 ? -1 : 0;
      if (k == 0) return fail(EIO);
      u->eof = NOEOF;
      break;
    }
    bytes = (ssize_t)(k * u->block_size);
  }
  if (u->drv_block >= 0) u->drv_block += u->block_size == 0 ? 1 : bytes / u->block_size;
  return bytes;
}

static ssize_t st_read(struct handle *hd, unsigned char *buf, size_t count) {
  struct unit *u = hd->u;
  if (rw_checks(u, count) < 0) return -1;
  if (count == 0) return 0;
  if (u->block_size != 0 && count % u->block_size != 0) return fail(EINVAL);
  if (u->rw == RW_WRITING) {
    flush_buffer(u, 0);
    u->rw = RW_READING;
  }
  if (u->eof >= EOD_1) {
    if (u->eof < EOD) {
      u->eof += 1;
      return 0;
    }
    return fail(EIO);
  }
  u->rw = RW_READING;
  ssize_t total = read_tape(u, buf, count);
  if (total < 0) return -1;
  if (total == 0) {
    if (u->eof == FM_HIT) {
      u->eof = FM;
      u->drv_block = 0;
      if (u->drv_file >= 0) u->drv_file++;
    } else if (u->eof == EOD_1) {
      u->eof = EOD_2;
      u->drv_block = 0;
      if (u->drv_file >= 0) u->drv_file++;
    } else if (u->eof == EOD_2) {
      u->eof = EOD;
    }
  } else if (u->eof == FM) {
    u->eof = NOEOF;
  }
  return total;
}

static void new_session(struct unit *u) {
  u->new_session = 0;
  head_rewind(u);
  u->eof = NOEOF;
  u->drv_file = 0;
  u->drv_block = 0;
  u->block_size = 0;
}

static int load_unload(struct handle *hd, int load) {
  struct unit *u = hd->u;
  if (!u->ready && !load) return fail(u->loaded ? EIO : ENOMEDIUM);
  if (!load) {
    if (u->mfd >= 0) fdatasync(u->mfd);
    head_rewind(u);
    medium_close(u);
    u->loaded = 0;
    u->ready = 0;
    u->new_session = 1;
    return 0;
  }
  if (!u->loaded || u->mfd < 0) {
    u->loaded = 1;
    if (medium_open(u, !hd->read_only) < 0) {
      u->loaded = 0;
      u->drv_file = u->drv_block = -1;
      return fail(EIO);
    }
  }
  u->ready = 1;
  new_session(u);
  u->drv_write_prot = u->hdr_write_protected;
  u->write_prot = hd->read_only || u->drv_write_prot;
  return 0;
}

/* Test knob: drives named slow-* take CAIRN_TAPE_SHIM_SLOW_REWIND_MS to rewind, as a real one takes minutes. */
static void slow_rewind(struct unit *u) {
  const char *ms = getenv("CAIRN_TAPE_SHIM_SLOW_REWIND_MS");
  if (ms && strncmp(u->name, "slow-", 5) == 0) usleep((useconds_t)atoi(ms) * 1000);
}

static int int_ioctl(struct handle *hd, int op, int arg) {
  struct unit *u = hd->u;
  if (!u->ready) return fail(u->loaded ? EIO : ENOMEDIUM);
  long fileno = u->drv_file, blkno = u->drv_block;
  int done;
  switch (op) {
    case MTNOP:
      return 0;
    case MTREW:
      slow_rewind(u);
      head_rewind(u);
      u->drv_file = u->drv_block = 0;
      u->eof = NOEOF;
      return 0;
    case MTWEOF:
    case 35 /* MTWEOFI */: {
      if (u->write_prot) return fail(EACCES);
      if (fileno >= 0) fileno += arg;
      int written = 0, eom = past_ew(u), overflow = 0;
      if (arg > 0) {
        uint32_t *sizes = calloc(arg, sizeof(uint32_t));
        if (!sizes) return fail(ENOMEM);
        int rc = write_records(u, sizes, arg, NULL, &written, &eom, &overflow);
        free(sizes);
        if (rc < 0) return -1;
      }
      if (op == MTWEOF) fdatasync(u->mfd);
      u->drv_block = 0;
      if (!overflow) {
        u->drv_file = fileno;
        u->eof = NOEOF;
        u->rw = RW_IDLE;
        return 0;
      }
      int undone = arg - written;
      u->eof = EOM_OK;
      if (fileno >= 0) fileno -= undone;
      if (undone < arg) u->eof = NOEOF;
      u->drv_file = fileno;
      return fail(EIO);
    }
    case MTFSF: {
      if (fileno >= 0) fileno += arg;
      for (done = 0; done < arg;) {
        uint32_t len;
        int k = rec_at(u, u->pos, &len, NULL);
        if (k == K_EOD) break;
        step_forward(u, len);
        if (k == K_FILEMARK) done++;
      }
      if (done == arg) {
        u->drv_file = fileno;
        u->drv_block = 0;
        u->eof = FM;
        return 0;
      }
      u->drv_file = fileno >= 0 ? fileno - (arg - done) : fileno;
      u->drv_block = -1;
      u->eof = EOD;
      return fail(EIO);
    }
    case MTBSF: {
      if (fileno >= 0) fileno -= arg;
      int bot = 0;
      for (done = 0; done < arg;) {
        int k = step_back(u);
        if (k < 0) {
          bot = 1;
          break;
        }
        if (k == K_FILEMARK) done++;
      }
      if (!bot) {
        u->drv_file = fileno;
        u->drv_block = -1;
        u->eof = NOEOF;
        return 0;
      }
      if (u->drv_file >= 0) u->drv_file = fileno + (arg - done);
      u->drv_block = 0;
      u->eof = NOEOF;
      return fail(EIO);
    }
    case MTFSR: {
      if (blkno >= 0) blkno += arg;
      int stop = 0; /* 1 filemark, 2 eod */
      for (done = 0; done < arg; done++) {
        uint32_t len;
        int k = rec_at(u, u->pos, &len, NULL);
        if (k == K_EOD) {
          stop = 2;
          break;
        }
        step_forward(u, len);
        if (k == K_FILEMARK) {
          stop = 1;
          break;
        }
      }
      if (!stop) {
        u->drv_block = blkno;
        u->eof = NOEOF;
        return 0;
      }
      int undone = arg - done;
      if (stop == 1) {
        if (u->drv_file >= 0) u->drv_file++;
        u->drv_block = 0;
        u->eof = FM;
      } else {
        u->drv_block = blkno >= undone ? blkno - undone : -1;
        u->eof = EOD;
      }
      return fail(EIO);
    }
    case MTBSR: {
      if (blkno >= 0) blkno -= arg;
      int stop = 0; /* 1 filemark, 2 bot */
      for (done = 0; done < arg; done++) {
        int k = step_back(u);
        if (k < 0) {
          stop = 2;
          break;
        }
        if (k == K_FILEMARK) {
          stop = 1;
          break;
        }
      }
      if (!stop) {
        u->drv_block = blkno;
        u->eof = NOEOF;
        return 0;
      }
      if (stop == 1) {
        u->drv_file--;
        u->drv_block = -1;
      } else {
        u->drv_block = 0;
        if (u->drv_block >= 0) u->drv_block = blkno + (arg - done);
      }
      u->eof = NOEOF;
      return fail(EIO);
    }
    case MTEOM: {
      long marks = 0;
      for (;;) {
        uint32_t len;
        int k = rec_at(u, u->pos, &len, NULL);
        if (k == K_EOD) break;
        step_forward(u, len);
        if (k == K_FILEMARK) marks++;
      }
      u->drv_file = fileno >= 0 ? fileno + marks : fileno;
      u->drv_block = -1;
      u->eof = EOD;
      return 0;
    }
    case MTSETBLK: {
      uint32_t size = (uint32_t)arg & 0xffffff;
      if (size != 0 && (size < u->min_block || size > u->max_block)) return fail(EINVAL);
      u->block_size = (int)size;
      return 0;
    }
    default:
      return fail(ENOSYS);
  }
}

static int st_mtioctop(struct handle *hd, const struct mtop *mt) {
  struct unit *u = hd->u;
  int op = mt->mt_op, n = mt->mt_count;
  if (u->eof == FM_HIT) {
    if (op == MTFSF || op == MTEOM) {
      n -= 1;
      if (u->drv_file >= 0) u->drv_file += 1;
    } else if (op == MTBSF) {
      n += 1;
      if (u->drv_file >= 0) u->drv_file += 1;
    }
  }
  flush_buffer(u, op == MTREW || op == MTOFFL || op == MTEOM || op == MTLOAD || op == MTFSF || op == MTBSF);
  if (u->rw == RW_WRITING && (op == MTREW || op == MTOFFL || op == MTBSF)) {
    if (int_ioctl(hd, MTWEOF, 1) < 0) return -1;
    if (op == MTBSF) n++;
    u->rw = RW_IDLE;
  }
  if (op != MTNOP && op != MTSETBLK) u->rw = RW_IDLE;
  if (op == MTUNLOAD || op == MTOFFL) return load_unload(hd, 0);
  if (op == MTLOAD) return load_unload(hd, 1);
  return int_ioctl(hd, op, n);
}

static int st_mtiocget(struct handle *hd, struct mtget *g) {
  struct unit *u = hd->u;
  flush_buffer(u, 0);
  memset(g, 0, sizeof *g);
  g->mt_type = MT_ISSCSI2;
  g->mt_dsreg = ((long)u->block_size << MT_ST_BLKSIZE_SHIFT) & MT_ST_BLKSIZE_MASK;
  g->mt_fileno = u->drv_file;
  g->mt_blkno = u->drv_block;
  unsigned long s = 0;
  if (u->drv_write_prot) s |= GMT_WR_PROT(0xffffffffUL);
  if (u->drv_block == 0) s |= u->drv_file == 0 ? GMT_BOT(0xffffffffUL) : GMT_EOF(0xffffffffUL);
  if (u->eof == EOM_OK || u->eof == EOM_ERROR)
    s |= GMT_EOT(0xffffffffUL);
  else if (u->eof >= EOM_OK)
    s |= GMT_EOD(0xffffffffUL);
  if (u->ready)
    s |= GMT_ONLINE(0xffffffffUL);
  else if (!u->loaded)
    s |= GMT_DR_OPEN(0xffffffffUL);
  g->mt_gstat = (long)s;
  return 0;
}

static int st_mtiocpos(struct handle *hd, struct mtpos *p) {
  if (!hd->u->ready) return fail(EIO);
  p->mt_blkno = hd->u->index;
  return 0;
}

static int st_close(struct handle *hd) {
  struct unit *u = hd->u;
  int rc = 0;
  if (u->ready && u->rw == RW_WRITING) {
    uint32_t zero = 0;
    int written, eom, overflow;
    if (write_records(u, &zero, 1, NULL, &written, &eom, &overflow) < 0 || overflow) {
      rc = fail(EIO);
    } else {
      if (u->drv_file >= 0) u->drv_file++;
      u->drv_block = 0;
      u->eof = FM;
    }
    fdatasync(u->mfd);
  } else if (u->ready && u->eof == FM_HIT) {
    step_back(u);
    u->eof = NOEOF;
  }
  u->rw = RW_IDLE;
  u->in_use = 0;
  medium_close(u);
  return rc;
}

/* ---- open ---- */

static struct unit *unit_for(const char *name) {
  for (int i = 0; i < nunits; i++)
    if (strcmp(units[i].name, name) == 0) return &units[i];
  if (nunits == MAX_UNITS) return NULL;
  struct unit *u = &units[nunits++];
  memset(u, 0, sizeof *u);
  snprintf(u->name, sizeof u->name, "%s", name);
  u->loaded = 1;
  u->new_session = 1;
  u->mfd = -1;
  u->drv_file = u->drv_block = -1;
  head_rewind(u);
  return u;
}

static int shim_open(const char *path, int flags) {
  const char *dir = getenv("CAIRN_TAPE_SHIM_DIR");
  const char *name = path + strlen(PREFIX);
  if (!dir || !*name || strchr(name, '/')) return fail(ENXIO);
  int accmode = flags & O_ACCMODE;
  int read_only = accmode == O_RDONLY, nonblock = (flags & O_NONBLOCK) != 0;
  pthread_mutex_lock(&lock);
  struct unit *u = unit_for(name);
  int rc = -1;
  if (!u) {
    errno = ENXIO;
    goto out;
  }
  if (u->in_use) {
    errno = EBUSY;
    goto out;
  }
  snprintf(u->file, sizeof u->file, "%s/%s", dir, name);
  u->rw = RW_IDLE;
  if (u->loaded && u->mfd < 0 && medium_open(u, !read_only) < 0) {
    if (errno == EACCES || errno == EROFS) goto out;
    u->loaded = 0; /* no vtape file (or not one): a drive without a tape */
  }
  if (!u->loaded) {
    u->ready = 0;
    u->drv_file = u->drv_block = -1;
    u->block_size = 0;
    u->write_prot = u->drv_write_prot = 0;
    u->new_session = 1;
    if (!nonblock) {
      errno = ENOMEDIUM;
      goto out;
    }
  } else {
    u->ready = 1;
    if (u->new_session) new_session(u);
    u->drv_write_prot = u->hdr_write_protected;
    u->write_prot = read_only || u->drv_write_prot;
    if (u->drv_write_prot && !read_only && !nonblock) {
      medium_close(u);
      errno = EROFS;
      goto out;
    }
  }
  int fd = real_open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) goto out;
  if (fd >= MAX_FDS) {
    real_close(fd);
    errno = EMFILE;
    goto out;
  }
  struct handle *hd = calloc(1, sizeof *hd);
  if (!hd) {
    real_close(fd);
    errno = ENOMEM;
    goto out;
  }
  hd->fd = fd;
  hd->u = u;
  hd->read_only = read_only;
  hd->nonblock = nonblock;
  u->in_use = 1;
  __atomic_store_n(&by_fd[fd], hd, __ATOMIC_RELEASE);
  rc = fd;
out:
  if (rc < 0 && u && !u->in_use) medium_close(u);
  pthread_mutex_unlock(&lock);
  return rc;
}

static int is_shim_path(const char *path) { return path && strncmp(path, PREFIX, strlen(PREFIX)) == 0; }

static mode_t mode_arg(int flags, va_list ap) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0; }

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  if (is_shim_path(path)) return shim_open(path, flags);
  return real_open(path, flags, mode);
}
int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  if (is_shim_path(path)) return shim_open(path, flags);
  return real_open(path, flags | O_LARGEFILE, mode);
}
int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  if (is_shim_path(path)) return shim_open(path, flags);
  return real_openat(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  if (is_shim_path(path)) return shim_open(path, flags);
  return real_openat(dirfd, path, flags | O_LARGEFILE, mode);
}
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open64(path, flags); }

/* ---- the rest ---- */

ssize_t read(int fd, void *buf, size_t count) {
  struct handle *hd = handle_of(fd);
  if (!hd) return real_read(fd, buf, count);
  pthread_mutex_lock(&lock);
  ssize_t r = st_read(hd, buf, count);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}

ssize_t write(int fd, const void *buf, size_t count) {
  struct handle *hd = handle_of(fd);
  if (!hd) return real_write(fd, buf, count);
  pthread_mutex_lock(&lock);
  ssize_t r = st_write(hd, buf, count);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  struct handle *hd = handle_of(fd);
  if (!hd) return real_ioctl(fd, request, arg);
  pthread_mutex_lock(&lock);
  int r;
  if (request == MTIOCTOP)
    r = st_mtioctop(hd, arg);
  else if (request == MTIOCGET)
    r = st_mtiocget(hd, arg);
  else if (request == MTIOCPOS)
    r = st_mtiocpos(hd, arg);
  else
    r = fail(ENOTTY);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}

int close(int fd) {
  struct handle *hd = handle_of(fd);
  if (!hd) return real_close(fd);
  pthread_mutex_lock(&lock);
  __atomic_store_n(&by_fd[fd], NULL, __ATOMIC_RELEASE);
  int r = st_close(hd);
  int e = errno;
  real_close(fd);
  free(hd);
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}
