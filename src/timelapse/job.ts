import { z } from "zod";
import { CLASSICAL_METRIC_IDS } from "../focus/types.js";

/**
 * Autofocus before each point: full DeepFocus search, DeepFocus tracking (2 images, search as
 * fallback), classical, none, or refocus (no stage move and no extra exposure: each captured
 * plane is digitally refocused with config refocus.method before it is stored).
 */
export const AF_POLICIES = ["deepfocus", "tracking", "classical", "none", "refocus"] as const;
export type AfPolicy = (typeof AF_POLICIES)[number];

const name = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, . _ - (at most 64)");

/**
 * A timelapse request (API body, CLI, journal): a job is a request, not configuration.
 * Exactly one of `count` and `endAt` bounds it; point i is due at start + i·intervalMs.
 */
export const timelapseRequestSchema = z
  .strictObject({
    name: name.optional(),
    intervalMs: z.number().int().min(10).max(7 * 86_400_000),
    /** Number of points. */
    count: z.number().int().min(1).max(1_000_000).optional(),
    /** Last point at or before this time (ISO 8601). */
    endAt: z.iso.datetime({ offset: true, message: "an ISO 8601 time with its UTC offset, e.g. 2030-01-01T08:00Z or 2030-01-01T09:00+01:00" }).optional(),
    autofocus: z
      .strictObject({
        policy: z.enum(AF_POLICIES).default("tracking"),
        /** DeepFocus calibration profile (deepfocus, tracking); default the configured one. */
        profile: name.optional(),
        /** Classical metric (classical); default config autofocus.metric. */
        metric: z.enum([...CLASSICAL_METRIC_IDS]).optional(),
        /** DeepFocus image budget per point; default config deepfocus.maxImages. */
        maxImages: z.number().int().min(3).max(50).optional(),
      })
      .prefault({}),
    capture: z
      .strictObject({
        /** Planes captured per point, as offsets from the focus found (µm); default [0]. */
        zOffsetsUm: z.array(z.number().finite().min(-500).max(500)).min(1).max(64).default([0]),
        note: z.string().max(500).optional(),
      })
      .prefault({}),
    /** A point this late (ms after it was due) is recorded as missed instead; default intervalMs / 2. */
    lateToleranceMs: z.number().int().min(0).optional(),
    /** The job pauses before free space would fall below this (bytes); default 64 MiB. */
    minFreeBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  })
  .refine((r) => (r.count === undefined) !== (r.endAt === undefined), { message: "give exactly one of count and endAt", path: ["count"] });

export type TimelapseRequest = z.infer<typeof timelapseRequestSchema>;
export type TimelapseRequestInput = z.input<typeof timelapseRequestSchema>;

/** A job as journaled when created: the request with its fixed schedule. */
export interface TimelapseJob {
  id: string;
  request: TimelapseRequest;
  /** Due time of point 0 (epoch ms). */
  startMs: number;
  /** Number of points. */
  total: number;
  lateToleranceMs: number;
}

/** Fixes the schedule of a request created at `nowMs`. */
export function scheduleJob(id: string, request: TimelapseRequest, nowMs: number): TimelapseJob {
  const total = request.count ?? Math.floor((Date.parse(request.endAt!) - nowMs) / request.intervalMs) + 1;
  return { id, request, startMs: nowMs, total: Math.max(0, total), lateToleranceMs: request.lateToleranceMs ?? Math.floor(request.intervalMs / 2) };
}

/** When point `index` is due (epoch ms). */
export function dueMs(job: TimelapseJob, index: number): number {
  return job.startMs + index * job.request.intervalMs;
}
