/* useragent.c — see useragent.h. Patterns follow what the platforms send: CFNetwork apps
 * ("MyApp/1.2 CFNetwork/1494.0.7 Darwin/23.4.0", with "(arm64)"/"(x86_64)" after Darwin on a Mac),
 * Safari and WebKit ("(iPhone; CPU iPhone OS 17_4 like Mac OS X)"), AFNetworking ("(iPhone; iOS
 * 17.4; Scale/3.00)"), Alamofire ("(com.x; build:1; iOS 17.4.0)"), Android's Dalvik ("(Linux; U;
 * Android 14; Pixel 8 Build/UQ1A)"), Chrome ("(Linux; Android 14; Pixel 8)", or "K" for a hidden
 * model), OkHttp ("okhttp/4.12.0") and Dart ("Dart/3.2 (dart:io)"). */
#include "useragent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "17_4" or "17.4.1" at p → "17.4" into out; 0 when p holds no version. */
static int version_at(const char *p, char *out, size_t outlen)
{
    char *end;
    long major = strtol(p, &end, 10);
    if (end == p || major < 0 || major > 999)
        return 0;
    long minor = -1;
    if ((*end == '_' || *end == '.') && end[1] >= '0' && end[1] <= '9')
        minor = strtol(end + 1, NULL, 10);
    if (minor > 0)
        snprintf(out, outlen, "%ld.%ld", major, minor);
    else
        snprintf(out, outlen, "%ld", major);
    return 1;
}

/* Darwin major → the iOS / macOS major it ships with (0 when unknown). Darwin 19-24 are iOS 13-18
 * and macOS 10.15-15; Darwin 25 is the year Apple renumbered both to 26. */
static int darwin_to(int darwin, int mac)
{
    if (darwin == 25)
        return 26;
    if (darwin >= 19 && darwin <= 24)
        return mac ? (darwin == 19 ? 10 : darwin - 9) : darwin - 6;
    return 0;
}

static enum ua_specificity apple_device(const char *ua, char *out, size_t outlen)
{
    const char *model = strstr(ua, "iPhone") ? "iPhone" : strstr(ua, "iPad") ? "iPad"
                        : strstr(ua, "iPod")                               ? "iPod"
                                                                           : NULL;
    char ver[16] = "";
    const char *p;
    if ((p = strstr(ua, "iPhone OS ")) || (p = strstr(ua, "CPU OS ")))
        version_at(strchr(p, 'S') + 2, ver, sizeof ver);
    else if ((p = strstr(ua, "iOS ")) && p > ua && strchr(" (;", p[-1]))
        version_at(p + 4, ver, sizeof ver);
    if (model && ver[0]) {
        snprintf(out, outlen, "%s, iOS %s", model, ver);
        return UA_DEVICE_MODEL;
    }
    if (ver[0]) {
        snprintf(out, outlen, "iOS %s", ver);
        return UA_DEVICE_VERSION;
    }
    const char *darwin = strstr(ua, "Darwin/");
    if (darwin && strstr(ua, "CFNetwork/")) {
        char *end;
        long major = strtol(darwin + 7, &end, 10);
        long minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
        int mac = strstr(darwin, "(x86_64)") || strstr(darwin, "(arm64)") || strstr(ua, "Macintosh");
        int os = darwin_to((int)major, mac);
        if (!os) {
            snprintf(out, outlen, "%s", mac ? "Mac" : "Apple device");
            return UA_DEVICE_PLATFORM;
        }
        if (mac && os == 10) /* Catalina: macOS 10.15.minor */
            snprintf(out, outlen, "Mac, macOS 10.15");
        else if (minor > 0)
            snprintf(out, outlen, "%s %d.%ld", mac ? "Mac, macOS" : "iOS", os, minor);
        else
            snprintf(out, outlen, "%s %d", mac ? "Mac, macOS" : "iOS", os);
        return UA_DEVICE_VERSION;
    }
    if (model) {
        snprintf(out, outlen, "%s", model);
        return UA_DEVICE_PLATFORM;
    }
    return UA_DEVICE_NONE;
}

static enum ua_specificity android_device(const char *ua, char *out, size_t outlen)
{
    const char *p = strstr(ua, "Android ");
    char ver[16];
    if (!p || !version_at(p + 8, ver, sizeof ver)) {
        if (strcasestr(ua, "okhttp/") || strstr(ua, "Android")) {
            snprintf(out, outlen, "Android");
            return UA_DEVICE_PLATFORM;
        }
        return UA_DEVICE_NONE;
    }
    /* the model follows the version: "Android 14; Pixel 8 Build/..." or "Android 14; Pixel 8)" */
    const char *m = p + 8 + strcspn(p + 8, ";)");
    if (*m == ';') {
        m += 1 + strspn(m + 1, " ");
        size_t n = strcspn(m, ";)");
        const char *build = strstr(m, " Build/");
        if (build && (size_t)(build - m) < n)
            n = (size_t)(build - m);
        /* "K" is Chrome's reduced User-Agent hiding the model; "wv" marks a WebView */
        if (n > 1 && n < 48 && strncmp(m, "wv", n) && strncmp(m, "U", n)) {
            snprintf(out, outlen, "%.*s, Android %s", (int)n, m, ver);
            return UA_DEVICE_MODEL;
        }
    }
    snprintf(out, outlen, "Android %s", ver);
    return UA_DEVICE_VERSION;
}

enum ua_specificity ua_device(const char *ua, char *out, size_t outlen)
{
    out[0] = '\0';
    enum ua_specificity s = UA_DEVICE_NONE;
    if (strstr(ua, "Android") || strcasestr(ua, "okhttp/") || strstr(ua, "Dalvik/"))
        s = android_device(ua, out, outlen);
    if (s == UA_DEVICE_NONE)
        s = apple_device(ua, out, outlen);
    if (s != UA_DEVICE_NONE)
        return s;
    if (strstr(ua, "Windows NT"))
        snprintf(out, outlen, "Windows");
    else if (strstr(ua, "X11; Linux") || strstr(ua, "X11; Ubuntu"))
        snprintf(out, outlen, "Linux");
    else
        return UA_DEVICE_NONE;
    return UA_DEVICE_PLATFORM;
}

/* name and the major version after the token: "Chrome/120.0" gives "Chrome 120". */
static int browser(const char *ua, const char *key, const char *name, char *out, size_t outlen)
{
    const char *p = strstr(ua, key);
    if (!p)
        return 0;
    snprintf(out, outlen, "%s %ld", name, strtol(p + strlen(key), NULL, 10));
    return 1;
}

void ua_app(const char *ua, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!strncmp(ua, "Mozilla/", 8)) {
        if (strstr(ua, "; wv)")) { /* Android WebView: "Version/4.0 Chrome/..." inside an app */
            snprintf(out, outlen, "%s", "in-app web view");
            return;
        }
        if (browser(ua, "Edg/", "Edge", out, outlen) || browser(ua, "EdgiOS/", "Edge", out, outlen) ||
            browser(ua, "OPR/", "Opera", out, outlen) ||
            browser(ua, "FxiOS/", "Firefox", out, outlen) ||
            browser(ua, "Firefox/", "Firefox", out, outlen) ||
            browser(ua, "CriOS/", "Chrome", out, outlen) ||
            browser(ua, "Chrome/", "Chrome", out, outlen) ||
            (strstr(ua, "Safari/") && browser(ua, "Version/", "Safari", out, outlen)))
            return;
        /* WKWebView and Android WebView carry no browser token of their own */
        snprintf(out, outlen, "%s", "in-app web view");
        return;
    }
    /* the product token, %-decoded (CFNetwork escapes an app name's spaces as %20) */
    size_t n = strcspn(ua, " "), o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        unsigned hi, lo;
        char c = ua[i];
        if (c == '%' && i + 2 < n && sscanf(ua + i + 1, "%1x%1x", &hi, &lo) == 2 &&
            (hi << 4 | lo) >= 0x20 && (hi << 4 | lo) < 0x7f) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    if (!strncmp(out, "Dart/", 5) && o + 24 < outlen)
        snprintf(out + o, outlen - o, " (Flutter or Dart app)");
}
