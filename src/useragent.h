/* useragent.h — what a User-Agent says about the device and the app that sent a request. Pure
 * functions, no allocation: the clients table names devices with them, the flow JSON names apps.
 *
 * On a phone every app shares one address, so the device and the app are told apart: the device
 * comes from the parts that describe the system (Darwin's version under CFNetwork, "iPhone; CPU
 * iPhone OS 17_4", "Android 14; Pixel 8"), the app from the product token ("MyApp/1.2",
 * "okhttp/4.12.0", "Dart/3.2", a browser's name). */
#ifndef HTTPEEK_USERAGENT_H
#define HTTPEEK_USERAGENT_H

#include <stddef.h>
#include "attrib.h"

/* How much a device name says; a client keeps the most specific name it was given. */
enum ua_specificity {
    UA_DEVICE_NONE = 0,     /* nothing about the device ("curl/8.1", "Dart/3.2") */
    UA_DEVICE_PLATFORM,     /* the platform only: "Android", "Mac" */
    UA_DEVICE_VERSION,      /* platform and version: "iOS 17.4", "Android 14" */
    UA_DEVICE_MODEL,        /* model and version: "iPhone, iOS 17.4", "Pixel 8, Android 14" */
};

/* The device ua was sent from into out ("" when it does not say); returns how specific it is. */
enum ua_specificity ua_device(const char *ua, char *out, size_t outlen) HP_NONNULL(1, 2);

/* The app that sent ua into out: its product token with %-escapes decoded ("My App/1.2"), a
 * browser's name and major version ("Safari 17", "Chrome 120"), or the HTTP library when that is
 * all it says ("okhttp/4.12.0", "Dart/3.2 (Flutter or Dart app)"); "" for an empty ua. */
void ua_app(const char *ua, char *out, size_t outlen) HP_NONNULL(1, 2);

#endif
