import type { components } from "./schema";

type Schemas = components["schemas"];
export type Lead = Schemas["LeadOut"];
export type LeadStatus = Schemas["LeadStatus"];
export type Activity = Schemas["ActivityOut"];
export type ImportReport = Schemas["ImportReport"];
export type TimeWindow = Schemas["TimeWindow"];
export type LeadPlan = Schemas["LeadPlanOut"];
export type Me = Schemas["UserOut"];

export const LEAD_STATUSES: LeadStatus[] = ["NEW", "CONTACTED", "QUALIFIED", "PROPOSAL_SENT", "CONVERTED", "LOST"];
