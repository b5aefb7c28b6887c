/*
 * Host port: the hypervisor console (port/console.h), stdout or a capture
 * buffer.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libhvcore/port/console.h>

#include "host_internal.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_buf;
static size_t g_cap;
static size_t g_len;
static uint64_t g_dropped;

void hv_port_console_write(const char *s, size_t len)
{
	if (s == NULL || len == 0)
		return;
	(void)pthread_mutex_lock(&g_lock);
	if (g_buf != NULL) {
		size_t room = g_cap - 1 - g_len;
		size_t n = len < room ? len : room;

		memcpy(g_buf + g_len, s, n);
		g_len += n;
		g_buf[g_len] = '\0';
		g_dropped += len - n;
	} else {
		(void)fwrite(s, 1, len, stdout);
		(void)fflush(stdout);
	}
	(void)pthread_mutex_unlock(&g_lock);
}

hv_status_t hv_host_console_capture_start(char *buf, size_t cap)
{
	hv_status_t st = HV_OK;

	if (buf == NULL || cap == 0)
		return HV_ERR_INVALID_ARG;
	(void)pthread_mutex_lock(&g_lock);
	if (g_buf != NULL) {
		st = HV_ERR_BUSY;
	} else {
		g_buf = buf;
		g_cap = cap;
		g_len = 0;
		g_dropped = 0;
		buf[0] = '\0';
	}
	(void)pthread_mutex_unlock(&g_lock);
	return st;
}

size_t hv_host_console_capture_stop(uint64_t *dropped)
{
	size_t n;

	(void)pthread_mutex_lock(&g_lock);
	n = g_buf != NULL ? g_len : 0;
	if (dropped != NULL)
		*dropped = g_buf != NULL ? g_dropped : 0;
	g_buf = NULL;
	g_cap = 0;
	g_len = 0;
	g_dropped = 0;
	(void)pthread_mutex_unlock(&g_lock);
	return n;
}

size_t hv_host_console_captured(void)
{
	size_t n;

	(void)pthread_mutex_lock(&g_lock);
	n = g_buf != NULL ? g_len : 0;
	(void)pthread_mutex_unlock(&g_lock);
	return n;
}

void hv_host_console_reset(void)
{
	(void)hv_host_console_capture_stop(NULL);
}
