import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import type { Lead, LeadStatus } from "../../api/types";

export interface LeadQuery {
  q?: string;
  status?: LeadStatus[];
  source?: string;
  has_email?: boolean;
  dnd?: boolean;
  age_min?: number;
  age_max?: number;
  sort?: string;
  page: number;
  page_size: number;
}

export const leadKeys = {
  all: ["leads"] as const,
  list: (query: LeadQuery) => ["leads", "list", query] as const,
  one: (id: string) => ["leads", "one", id] as const,
  activities: (id: string) => ["leads", "activities", id] as const,
  pipeline: ["leads", "pipeline"] as const,
};

export function useLeads(query: LeadQuery) {
  return useQuery({
    queryKey: leadKeys.list(query),
    queryFn: async () =>
      unwrap(await api.GET("/api/leads", { params: { query: query as never } })),
    placeholderData: keepPreviousData,
  });
}

export function useLead(id: string) {
  return useQuery({
    queryKey: leadKeys.one(id),
    queryFn: async () => unwrap(await api.GET("/api/leads/{lead_id}", { params: { path: { lead_id: id } } })),
  });
}

export function usePipeline() {
  return useQuery({
    queryKey: leadKeys.pipeline,
    queryFn: async () => unwrap(await api.GET("/api/leads/pipeline")),
  });
}

export function useActivities(id: string) {
  return useQuery({
    queryKey: leadKeys.activities(id),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/leads/{lead_id}/activities", {
          params: { path: { lead_id: id }, query: { page_size: 100, order: "desc" } },
        }),
      ),
    // Other services add to the timeline as they work (a call's needs, a prospectus, an email).
    refetchInterval: 10_000,
  });
}

export function useLeadPlan(id: string) {
  return useQuery({
    queryKey: ["scheduler", "lead", id],
    queryFn: async () =>
      unwrap(await api.GET("/api/scheduler/leads/{lead_id}", { params: { path: { lead_id: id } } })),
    retry: false,
  });
}

type LeadPatch = components["schemas"]["LeadPatch"];

/** PATCH a lead; every list showing it is refreshed after. */
export function useUpdateLead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, patch }: { id: string; patch: LeadPatch }) =>
      unwrap(await api.PATCH("/api/leads/{lead_id}", { params: { path: { lead_id: id } }, body: patch })),
    onSuccess: (lead: Lead) => {
      client.setQueryData(leadKeys.one(lead.id), lead);
      void client.invalidateQueries({ queryKey: leadKeys.all });
      void client.invalidateQueries({ queryKey: ["scheduler", "lead", lead.id] });
    },
  });
}
