/*
** walbuf: a VFS over SQLite's "unix" VFS that gathers the writes to a WAL file
** into one write per commit.
**
** SQLite writes each WAL frame with two write calls (the 24-byte frame header,
** then the page), so a commit of 30 pages costs 60 system calls; on a virtual
** machine each one is dear, and they all sit on the single writer's path. Here
** the writes SQLite makes to a WAL at consecutive offsets are kept in memory and
** reach the file as one write, before anything could need them:
**
**   - before the wal-index header that publishes a commit is complete: SQLite
**     writes the header's second copy, calls xShmBarrier, then writes the first
**     copy, and readers trust the header only when both copies agree; every
**     barrier writes out what is pending, so no reader, in this process or
**     another, can learn of a frame that is not in the file;
**   - before any change of a shared-memory lock (xShmLock), so that frames of a
**     transaction rolled back after a cache spill are in the file before another
**     writer may take the WAL write lock (they are then exactly what SQLite would
**     have written itself);
**   - before any other operation on the WAL (read, sync, size, truncate, file
**     control, close), before a write that does not continue the pending range,
**     and when the buffer is full.
**
** The bytes, their offsets and their order are SQLite's own; only the number of
** system calls changes. Durability is unchanged: nothing is acknowledged before
** the fdatasync that the store runs after COMMIT returns (durable.go), and by
** then the frames are in the file. A write that fails at a barrier, where SQLite
** cannot be told, aborts the process (as PostgreSQL panics when it cannot write
** its WAL): on restart SQLite recovers the WAL from what is on disk, and no
** client was told of the commit.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walbuf.h"

#define WB_CAP (4 << 20) /* bytes gathered at most before a write */

typedef struct WBFile WBFile;
struct WBFile {
  sqlite3_file base;   /* pMethods = &gMethods */
  sqlite3_file *real;  /* the "unix" file, allocated right after this struct */
  int isWal;
  char *buf;           /* pending bytes, for offsets [off, off+len) */
  int len;
  sqlite3_int64 off;
  WBFile *next, *prev; /* every open WAL file of this VFS */
};

static sqlite3_vfs *gReal;
static sqlite3_vfs gVfs;
static sqlite3_io_methods gMethods;

/* One mutex guards every buffer: one connection writes at a time, and other
** threads only take it when something is pending. */
static pthread_mutex_t gMu = PTHREAD_MUTEX_INITIALIZER;
static WBFile *gWals;
static int gPending; /* WAL files with pending bytes; read without the mutex */

/* Counters for tests: writes SQLite asked for and writes made to WAL files. */
static long long gAsked, gMade;

#define REAL(p) (((WBFile*)(p))->real)

/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length
** with 0x1ffff), so pending bytes go out in pieces of this size. */
#define WB_CHUNK (31 * 4096)

/* flushLocked writes w's pending bytes; gMu is held. The buffer is empty after,
** written or not: on failure the caller reports the error to SQLite (or stops
** the process, at a barrier). */
static int flushLocked(WBFile *w){
  int rc = SQLITE_OK, done = 0;
  if( w->len==0 ) return SQLITE_OK;
  while( rc==SQLITE_OK && done<w->len ){
    int n = w->len-done;
    if( n>WB_CHUNK ) n = WB_CHUNK;
    rc = w->real->pMethods->xWrite(w->real, w->buf+done, n, w->off+done);
    gMade++;
    done += n;
  }
  w->len = 0;
  __atomic_sub_fetch(&gPending, 1, __ATOMIC_SEQ_CST);
  return rc;
}

/* flushAll writes what every WAL file has pending. */
static int flushAll(void){
  int rc = SQLITE_OK;
  WBFile *w;
  if( __atomic_load_n(&gPending, __ATOMIC_SEQ_CST)==0 ) return SQLITE_OK;
  pthread_mutex_lock(&gMu);
  for(w=gWals; w; w=w->next){
    int rc2 = flushLocked(w);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  pthread_mutex_unlock(&gMu);
  return rc;
}

static int flushOne(WBFile *w){
  int rc;
  if( !w->isWal ) return SQLITE_OK;
  pthread_mutex_lock(&gMu);
  rc = flushLocked(w);
  pthread_mutex_unlock(&gMu);
  return rc;
}

static int wbClose(sqlite3_file *f){
  WBFile *w = (WBFile*)f;
  int rc = SQLITE_OK, rc2;
  if( w->isWal ){
    pthread_mutex_lock(&gMu);
    rc = flushLocked(w);
    if( w->prev ) w->prev->next = w->next; else gWals = w->next;
    if( w->next ) w->next->prev = w->prev;
    pthread_mutex_unlock(&gMu);
    free(w->buf);
    w->buf = 0;
  }
  rc2 = w->real->pMethods->xClose(w->real);
  return rc!=SQLITE_OK ? rc : rc2;
}

static int wbRead(sqlite3_file *f, void *p, int n, sqlite3_int64 off){
  int rc = flushOne((WBFile*)f);
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int wbWrite(sqlite3_file *f, const void *p, int n, sqlite3_int64 off){
  WBFile *w = (WBFile*)f;
  int rc = SQLITE_OK;
  if( !w->isWal ) return w->real->pMethods->xWrite(w->real, p, n, off);
  pthread_mutex_lock(&gMu);
  gAsked++;
  if( w->len>0 && off==w->off+w->len && w->len+n<=WB_CAP ){
    memcpy(w->buf+w->len, p, n);
    w->len += n;
  }else{
    rc = flushLocked(w);
    if( rc==SQLITE_OK ){
      if( w->buf==0 ) w->buf = malloc(WB_CAP);
      if( w->buf!=0 && n>0 && n<=WB_CHUNK ){
        memcpy(w->buf, p, n);
        w->off = off;
        w->len = n;
        __atomic_add_fetch(&gPending, 1, __ATOMIC_SEQ_CST);
      }else{
        rc = w->real->pMethods->xWrite(w->real, p, n, off);
        gMade++;
      }
    }
  }
  pthread_mutex_unlock(&gMu);
  return rc;
}

static int wbTruncate(sqlite3_file *f, sqlite3_int64 size){
  int rc = flushOne((WBFile*)f);
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int wbSync(sqlite3_file *f, int flags){
  int rc = flushOne((WBFile*)f);
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int wbFileSize(sqlite3_file *f, sqlite3_int64 *pSize){
  int rc = flushOne((WBFile*)f);
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xFileSize(REAL(f), pSize);
}

static int wbLock(sqlite3_file *f, int lock){
  int rc = flushAll();
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int wbUnlock(sqlite3_file *f, int lock){
  int rc = flushAll();
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int wbCheckReservedLock(sqlite3_file *f, int *pResOut){
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), pResOut);
}

static int wbFileControl(sqlite3_file *f, int op, void *pArg){
  int rc = flushOne((WBFile*)f);
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xFileControl(REAL(f), op, pArg);
}

static int wbSectorSize(sqlite3_file *f){
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int wbDeviceCharacteristics(sqlite3_file *f){
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int wbShmMap(sqlite3_file *f, int iPg, int pgsz, int bExtend, void volatile **pp){
  return REAL(f)->pMethods->xShmMap(REAL(f), iPg, pgsz, bExtend, pp);
}

static int wbShmLock(sqlite3_file *f, int offset, int n, int flags){
  int rc = flushAll();
  if( rc!=SQLITE_OK && !(flags & SQLITE_SHM_UNLOCK) ) return rc;
  /* An unlock always goes through: SQLite ignores its result, and what could
  ** not be written is a rolled-back transaction's (a commit's frames were
  ** written at its barrier). */
  return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void wbShmBarrier(sqlite3_file *f){
  if( flushAll()!=SQLITE_OK ){
    fprintf(stderr, "fetchsms: could not write the SQLite WAL before publishing a commit; stopping\n");
    abort();
  }
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int wbShmUnmap(sqlite3_file *f, int deleteFlag){
  int rc = flushAll();
  if( rc!=SQLITE_OK ) return rc;
  return REAL(f)->pMethods->xShmUnmap(REAL(f), deleteFlag);
}

static int wbFetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp){
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int wbUnfetch(sqlite3_file *f, sqlite3_int64 off, void *p){
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int wbOpen(sqlite3_vfs *vfs, sqlite3_filename zName, sqlite3_file *f, int flags, int *pOutFlags){
  WBFile *w = (WBFile*)f;
  int rc;
  (void)vfs;
  memset(w, 0, sizeof(*w));
  w->real = (sqlite3_file*)&w[1];
  rc = gReal->xOpen(gReal, zName, w->real, flags, pOutFlags);
  if( w->real->pMethods==0 ){
    f->pMethods = 0;
    return rc;
  }
  if( w->real->pMethods->iVersion<3 ){
    /* Not a file this wrapper knows how to forward; never expected of "unix". */
    w->real->pMethods->xClose(w->real);
    f->pMethods = 0;
    return SQLITE_ERROR;
  }
  w->isWal = (flags & SQLITE_OPEN_WAL)!=0;
  if( w->isWal ){
    pthread_mutex_lock(&gMu);
    w->next = gWals;
    if( gWals ) gWals->prev = w;
    gWals = w;
    pthread_mutex_unlock(&gMu);
  }
  f->pMethods = &gMethods;
  return rc;
}

/* fetchsms_sqlite_init configures SQLite for this process and registers the VFS
** under name, once, before the first connection opens.
**
** Memory statistics go off first (they must be set before SQLite initializes,
** and finding the "unix" VFS initializes it): with them on, every allocation of
** every connection takes one process-wide mutex, and the writer's statements
** wait on the readers' allocations (measured under load: the writer's time per
** request from about 95 to 70 us). Nothing here reads them. If SQLite was
** already initialized the call fails harmlessly and the statistics stay on. */
int fetchsms_sqlite_init(const char *name){
  if( gReal ) return SQLITE_OK;
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  gReal = sqlite3_vfs_find("unix");
  if( gReal==0 || gReal->iVersion<3 ) return SQLITE_ERROR;
  gVfs = *gReal;
  gVfs.iVersion = 3;
  gVfs.pNext = 0;
  gVfs.zName = name;
  gVfs.szOsFile = (int)sizeof(WBFile) + gReal->szOsFile;
  gVfs.xOpen = wbOpen;

  gMethods.iVersion = 3;
  gMethods.xClose = wbClose;
  gMethods.xRead = wbRead;
  gMethods.xWrite = wbWrite;
  gMethods.xTruncate = wbTruncate;
  gMethods.xSync = wbSync;
  gMethods.xFileSize = wbFileSize;
  gMethods.xLock = wbLock;
  gMethods.xUnlock = wbUnlock;
  gMethods.xCheckReservedLock = wbCheckReservedLock;
  gMethods.xFileControl = wbFileControl;
  gMethods.xSectorSize = wbSectorSize;
  gMethods.xDeviceCharacteristics = wbDeviceCharacteristics;
  gMethods.xShmMap = wbShmMap;
  gMethods.xShmLock = wbShmLock;
  gMethods.xShmBarrier = wbShmBarrier;
  gMethods.xShmUnmap = wbShmUnmap;
  gMethods.xFetch = wbFetch;
  gMethods.xUnfetch = wbUnfetch;
  return sqlite3_vfs_register(&gVfs, 0);
}

/* fetchsms_walbuf_counts reports the WAL writes SQLite asked for and the writes
** made for them. */
void fetchsms_walbuf_counts(long long *asked, long long *made){
  pthread_mutex_lock(&gMu);
  *asked = gAsked;
  *made = gMade;
  pthread_mutex_unlock(&gMu);
}
